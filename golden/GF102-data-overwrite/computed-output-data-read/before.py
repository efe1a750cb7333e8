import torch
from torch import nn

torch.manual_seed(0)


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(6, 8)
        self.out = nn.Linear(8, 2)

    def forward(self, x):
        h = torch.relu(self.embed(x))
        h = h.data
        return self.out(h)


model = Encoder()
y = model(torch.randn(4, 6))
print("FORWARD", repr(y.tolist()))
y.pow(2).mean().backward()
print("GRAD embed.weight", None if model.embed.weight.grad is None else repr(model.embed.weight.grad.tolist()))
