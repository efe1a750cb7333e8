import torch

x = torch.randn(8, 3)
x_aug = x + torch.normal(0.0, 0.1, size=x.shape)
jitter = torch.normal(1.5, 2.5, (4,))
w = torch.empty(3, 3)
w.normal_(0.0, 0.02)
noise = torch.normal(torch.zeros(3), torch.ones(3))
eps = torch.normal(mean=torch.zeros(5))
