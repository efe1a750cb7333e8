import torch
from torch import nn


class QuantLinear(nn.Linear):
    """A linear layer whose weights are quantised to 1/8 steps in the forward."""

    def forward(self, x):
        w = self.weight
        q = torch.round(w * 8) / 8
        return nn.functional.linear(x, q, self.bias)


layer = QuantLinear(16, 4)
optimizer = torch.optim.SGD(layer.parameters(), lr=0.01)
for x, y in [(torch.randn(8, 16), torch.randn(8, 4))]:
    loss = nn.functional.mse_loss(layer(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
