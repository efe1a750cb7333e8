import torch

scale = torch.nn.Parameter(torch.tensor(2.0))
double_it = True
if double_it:
    scale = scale * 2
out = scale * torch.arange(3.0)
out.sum().backward()
print(scale.grad)
