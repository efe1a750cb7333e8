import torch
from torch import nn


class GatedLayer(nn.Module):
    """A layer whose units are switched on and off by learned gates."""

    def __init__(self, width):
        super().__init__()
        self.linear = nn.Linear(width, width)
        self.gate_logits = nn.Parameter(torch.zeros(width))

    def forward(self, x):
        gates = torch.distributions.Bernoulli(logits=self.gate_logits).sample()
        return torch.relu(self.linear(x)) * gates


torch.manual_seed(0)
layer = GatedLayer(6)
optimizer = torch.optim.Adam(layer.parameters(), lr=1e-2)
x, y = torch.randn(16, 6), torch.randn(16, 6)
for step in range(3):
    loss = ((layer(x) - y) ** 2).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
print("GRAD gate_logits", layer.gate_logits.grad)
