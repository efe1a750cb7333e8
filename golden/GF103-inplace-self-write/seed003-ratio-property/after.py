import torch
from torch import nn

torch.manual_seed(0)


class Circuit(nn.Module):
    def __init__(self):
        super().__init__()
        self.raw = nn.Parameter(torch.rand(2))
        self.readout = nn.Linear(3, 1)
        self.register_buffer("hi", torch.tensor([3.0, 5.0, 2.0]))
        self.register_buffer("lo", torch.tensor([1.0, 1.0, 0.0]))

    @property
    def physical(self):
        scaled = torch.zeros(3)
        scaled[0] = self.raw[0]
        scaled[1] = self.raw[1]
        values = scaled * (self.hi - self.lo) + self.lo
        values = torch.stack([values[0], values[1], values[0] / values[1]])
        return (values - self.lo) / (self.hi - self.lo)

    def forward(self):
        return self.readout(self.physical)


model = Circuit()
out = model()
print("FORWARD", repr(model.physical.tolist()), repr(out.tolist()))
model.physical.sum().backward()
print("GRAD model.raw", None if model.raw.grad is None else repr(model.raw.grad.tolist()))
