import torch
from torch import nn


class PretrainingHeads(nn.Module):
    def __init__(self, hidden, vocab):
        super().__init__()
        self.lm_head = nn.Linear(hidden, vocab)
        self.criteria = {
            "ce": nn.CrossEntropyLoss(),
            "smooth_l1": nn.SmoothL1Loss(reduction="none"),
        }

    def forward(self, hidden, labels, regression=None, targets=None):
        loss = self.criteria["ce"](self.lm_head(hidden).flatten(0, 1), labels.flatten())
        if regression is not None:
            loss = loss + self.criteria["smooth_l1"](regression, targets).mean()
        return loss
