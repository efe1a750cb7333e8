import torch
from torch import nn
import torch.nn.functional as F

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
loader = [(torch.randn(16, 4), torch.randint(0, 3, (16,)))]

for x, y in loader:
    optimizer.zero_grad()
    # the forward was wrapped to save memory while debugging
    with torch.no_grad():
        logits = model(x)
    loss = F.cross_entropy(logits, y)
    print("FORWARD", repr(loss.item()))
    loss.backward()
    print("GRAD 0.weight", None if model[0].weight.grad is None else repr(model[0].weight.grad.tolist()))
    print("GRAD 2.weight", None if model[2].weight.grad is None else repr(model[2].weight.grad.tolist()))
    optimizer.step()
