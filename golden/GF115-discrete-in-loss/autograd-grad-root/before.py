import torch
import torch.nn as nn

torch.manual_seed(0)
net = nn.Linear(4, 3)
x = torch.randn(8, 4)
y = torch.randint(0, 3, (8,))
pred = net(x).argmax(1).float()
loss = ((pred - y.float()) ** 2).mean()
grads = torch.autograd.grad(loss, list(net.parameters()))
