"""A learnable scale rebound to its doubled value (seed 003, first example).

`scale = scale * 2` moves the name to a non-leaf: `scale.grad` is None (with a warning)
although the Parameter's gradient is fine. `gradfix apply` gives the result its own name.
"""

import torch

torch.manual_seed(0)
scale = torch.nn.Parameter(torch.rand(6))
scale = scale * 2
energy = (scale**2).sum()
energy.backward()
print("energy", energy.item())
print("scale.grad", scale.grad)
