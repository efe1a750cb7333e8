import torch
from torch import nn

a = nn.Parameter(torch.rand(3))
A = torch.zeros(3)
A[0] = a[0] * 2
A[1] = torch.log(a[1] + 1)
A[2] = a[2] ** 2
A.sum().backward()
