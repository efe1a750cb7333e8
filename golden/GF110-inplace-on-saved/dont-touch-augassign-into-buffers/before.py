import torch
from torch import nn

torch.manual_seed(0)
model = nn.Linear(4, 1)
batches = [(torch.randn(2, 4), torch.tensor([0, 2])), (torch.randn(2, 4), torch.tensor([1, 2]))]


def per_class_mean(model, batches):
    totals = torch.zeros(3)
    counts = torch.zeros(3)
    for inputs, labels in batches:
        out = model(inputs).squeeze(-1)
        totals[labels] += out
        counts[labels] += 1
    return totals / counts.clamp(min=1)


def calibrated(model, inputs):
    probs = torch.sigmoid(model(inputs)).clone()
    probs[probs > 0.9] -= 0.05
    return probs


means = per_class_mean(model, batches)
probs = calibrated(model, torch.randn(3, 4))
print("FORWARD", repr(means.tolist()), repr(probs.tolist()))
(means.sum() + probs.sum()).backward()
print("GRAD weight", None if model.weight.grad is None else repr(model.weight.grad.tolist()))
