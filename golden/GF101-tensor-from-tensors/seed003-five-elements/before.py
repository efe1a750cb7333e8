import torch
import torch.nn.functional as F
from torch import nn

torch.manual_seed(0)
coeffs = nn.Parameter(torch.rand(5))

c0 = coeffs[0] * 3
c1 = torch.log(coeffs[1] + 2)
c2 = coeffs[2] ** 3
c3 = F.softplus(coeffs[3] * 0.5)
c4 = coeffs[4]
packed = torch.tensor([c0, c1, c2, c3, c4])
print("FORWARD", repr(packed.tolist()))

packed.sum().backward()
print("GRAD coeffs", None if coeffs.grad is None else repr(coeffs.grad.tolist()))
