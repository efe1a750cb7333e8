import torch
import torch.nn.functional as F

torch.manual_seed(0)
scale = torch.randn(5, requires_grad=True)
x = torch.randn(2, 5)


def positive_rates(x, scale):
    rates = torch.exp(x * scale)
    shifted = rates - 1.5
    return F.relu(shifted, inplace=True), rates


def clipped_rates(x, scale):
    rates = torch.exp(x * scale)
    clipped = F.relu(rates)
    return clipped


out = clipped_rates(x, scale)
print("FORWARD", repr(out.tolist()))
out.sum().backward()
print("GRAD scale", None if scale.grad is None else repr(scale.grad.tolist()))
