import torch
import torch.nn.functional as F


def masked_nll(logits, labels, pad_id=0):
    probs = F.softmax(logits, dim=-1)
    picked = probs.gather(-1, labels.unsqueeze(-1)).squeeze(-1)
    # the mask is about the labels, not about the values the log reads
    nll = torch.where(labels != pad_id, -torch.log(picked), torch.zeros_like(picked))
    return nll.sum() / (labels != pad_id).sum()


def log_probs_filled(p):
    # masked_fill after an unsafe op is another pattern, not this rule's
    return torch.log(p).masked_fill(p == 0, 0.0)
