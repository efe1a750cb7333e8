import torch

with torch.no_grad():
    noise = torch.randn(4, requires_grad=True).double()
    print(noise.grad)
probe = torch.randn(4, requires_grad=True).double()
print(probe * 2)
