import torch
from torch import nn
import torch.nn.functional as F


class FixedLinear(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = torch.rand(5, 5)
        self.bias = torch.rand(5)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)


def train_briefly(model, data):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    for x, y in data:
        loss = F.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


reference = FixedLinear()
student = nn.Linear(5, 5)
train_briefly(student, [(torch.rand(2, 5), torch.rand(2, 5))])
