import torch

w1 = torch.randn(4, 8, requires_grad=True).to(dtype=torch.float64)
layers = [
    torch.randn(8, 8, requires_grad=True).to(dtype=torch.float64),
    torch.zeros(8, requires_grad=True).to(dtype=torch.float64),
]
optimizer = torch.optim.Adam(layers, lr=1e-3)
