import torch
import torch.nn.functional as F


def temperature_grad(temp, logits, labels):
    temp_converted = temp.double()
    loss = F.cross_entropy(logits.double() / temp_converted, labels)
    print("forward", repr(loss.tolist()))
    loss.backward()
    return temp.grad


torch.manual_seed(5)
t = torch.ones(1, requires_grad=True)
g = temperature_grad(t, torch.randn(6, 3), torch.tensor([0, 1, 2, 0, 1, 2]))
print("grad", "temp", None if g is None else repr(g.tolist()))
