import torch
import torch.nn.functional as F
from torch import nn

torch.manual_seed(0)


class Regressor(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(5, 16)
        self.head = nn.Linear(16, 1)

    def forward(self, x):
        return self.head(torch.relu(self.hidden(x)))


model = Regressor()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
x, y = torch.randn(8, 5), torch.randn(8, 1)

for step in range(1):
    optimizer.zero_grad()
    pred = model(x).detach()
    loss = F.mse_loss(pred, y)
    print("FORWARD", repr(loss.item()))
    loss.backward()
    print("GRAD head.weight", None if model.head.weight.grad is None else repr(model.head.weight.grad.tolist()))
    optimizer.step()
