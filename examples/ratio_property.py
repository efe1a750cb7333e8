"""Two learnable ratios feed a small network through a derived third input (seed 003).

`param[2] = param[0] / param[1]` writes into the tensor it reads: backward raises
"modified by an inplace operation". `gradfix apply` rebuilds it with torch.stack.
"""

import torch


class RatioModel(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.r_norm = torch.nn.Parameter(torch.rand(2))
        self.estimator = torch.nn.Linear(3, 1)
        self.hi = torch.tensor([3.0, 5.0, 2.5])
        self.lo = torch.tensor([1.0, 2.0, 0.0])

    @property
    def features(self):
        normed = torch.zeros([3])
        normed[0] = self.r_norm[0]
        normed[1] = self.r_norm[1]
        real = normed * (self.hi - self.lo) + self.lo
        real[2] = real[0] / real[1]
        return (real - self.lo) / (self.hi - self.lo)

    def forward(self):
        return self.estimator(self.features)


torch.manual_seed(0)
model = RatioModel()
out = model()
out.sum().backward()
print("output", out.tolist())
print("ratio gradient", model.r_norm.grad)
