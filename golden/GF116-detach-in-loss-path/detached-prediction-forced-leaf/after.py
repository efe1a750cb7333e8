import torch
from torch import nn

torch.manual_seed(0)
head = nn.Linear(4, 2)
optimizer = torch.optim.Adam(head.parameters(), lr=1e-3)
features = torch.randn(8, 4)
labels = torch.randint(0, 2, (8,))

for epoch in range(1):
    optimizer.zero_grad()
    logits = head(features)
    loss = nn.functional.cross_entropy(logits, labels)
    print("FORWARD", repr(loss.item()))
    loss.backward()
    print("GRAD head.weight", None if head.weight.grad is None else repr(head.weight.grad.tolist()))
    optimizer.step()
