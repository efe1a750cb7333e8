import torch

w1 = torch.randn(4, 8, requires_grad=True).to(dtype=torch.float64)
layers = [
    torch.randn(8, 8).to(dtype=torch.float64).requires_grad_(),
    torch.zeros(8).to(dtype=torch.float64).requires_grad_(),
]
optimizer = torch.optim.Adam(layers, lr=1e-3)
