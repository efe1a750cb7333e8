import torch

device = "cpu"
x = torch.randn(8, 3).to(device)
y = torch.zeros(8, dtype=torch.long).cuda()
print(x.grad, y)
