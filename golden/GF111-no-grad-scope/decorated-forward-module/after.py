import torch
from torch import nn


class Regressor(nn.Module):
    def __init__(self, n_in, n_hidden):
        super().__init__()
        self.body = nn.Linear(n_in, n_hidden)
        self.head = nn.Linear(n_hidden, 1)

    def forward(self, x):
        return self.head(torch.tanh(self.body(x)))


torch.manual_seed(0)
net = Regressor(3, 5)
opt = torch.optim.Adam(net.parameters(), lr=1e-2)
criterion = nn.MSELoss()
inputs = torch.randn(32, 3)
targets = inputs.sum(dim=1, keepdim=True)

for epoch in range(1):
    opt.zero_grad()
    pred = net(inputs)
    loss = criterion(pred, targets)
    print("FORWARD", repr(loss.item()))
    loss.backward()
    print("GRAD body.weight", None if net.body.weight.grad is None else repr(net.body.weight.grad.tolist()))
    print("GRAD head.weight", None if net.head.weight.grad is None else repr(net.head.weight.grad.tolist()))
    opt.step()

with torch.no_grad():
    print("eval", net(inputs[:4]).squeeze(1).tolist())
