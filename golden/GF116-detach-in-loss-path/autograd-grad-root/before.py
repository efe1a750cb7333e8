import torch
import torch.nn as nn

torch.manual_seed(0)
G = nn.Linear(4, 4)
z = torch.randn(8, 4)
target = torch.randn(8, 4)
for _ in range(3):
    fake = G(z).detach()
    loss = ((fake - target) ** 2).mean()
    grads = torch.autograd.grad(loss, list(G.parameters()))
    with torch.no_grad():
        for p, g in zip(G.parameters(), grads):
            p -= 0.1 * g
