import torch
from torch import nn


class DeepMLP(nn.Module):
    def __init__(self, width, depth):
        super().__init__()
        self.layers = [nn.Linear(width, width) for _ in range(depth)]
        self.head = nn.Linear(width, 1)

    def forward(self, x):
        for layer in self.layers:
            x = torch.tanh(layer(x))
        return self.head(x).squeeze(1)


torch.manual_seed(0)
model = DeepMLP(4, 3)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
x = torch.randn(6, 4)
y = torch.randn(6)

pred = model(x)
print("FORWARD", repr(pred.tolist()))
loss = ((pred - y) ** 2).mean()
optimizer.zero_grad()
loss.backward()
trained = dict(model.named_parameters())
for name in ("layers.0.weight", "layers.2.weight"):
    grad = trained[name].grad if name in trained else None
    print("GRAD", name, None if grad is None else repr(grad.tolist()))
optimizer.step()
