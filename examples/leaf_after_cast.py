"""A leaf made non-leaf by a conversion after creation (seed 003 and forum threads).

`torch.randn(..., requires_grad=True).double()` returns a converted copy: the name holds
a non-leaf whose .grad stays None. `gradfix apply` converts first and asks for the
gradient on the result, with the same random draws.
"""

import torch

torch.manual_seed(0)
weights = torch.randn(5, requires_grad=True).double()
data = torch.linspace(0, 1, 5, dtype=torch.float64)
loss = ((weights * data).sum() - 1.0) ** 2
loss.backward()
print("loss", loss.item())
print("weights.grad", weights.grad)
