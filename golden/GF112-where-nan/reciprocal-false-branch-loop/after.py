import torch

torch.manual_seed(0)
w = torch.randn(6, requires_grad=True)
opt = torch.optim.Adam([w], lr=0.01)
target = torch.randn(6)

for step in range(100):
    shrunk = torch.relu(w - 0.1)
    inv = torch.where(shrunk == 0, torch.zeros_like(shrunk), 1.0 / torch.where(shrunk == 0, 1.0, shrunk))
    loss = ((inv - target) ** 2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
