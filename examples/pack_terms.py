"""Loss terms packed with torch.tensor (seed 003): the terms lose their graph.

`torch.tensor([...])` of tensors copies their values; backward then raises "element 0
of tensors does not require grad". `gradfix apply` packs them with torch.stack.
"""

import torch
import torch.nn.functional as F

torch.manual_seed(0)
weights = torch.nn.Parameter(torch.rand(4))

terms = torch.tensor([weights[0] * 3, torch.log1p(weights[1]), weights[2] ** 2, F.softplus(weights[3])])
total = (terms * torch.tensor([1.0, 0.5, 0.25, 2.0])).sum()
total.backward()
print("total", total.item())
print("weights.grad", weights.grad)
