import torch
import torch.nn as nn

k = nn.Parameter(torch.tensor([0.5, 2.0]))
a, b = k[0], k[1]
stiffness = torch.stack([torch.stack([a + b, -b]), torch.stack([-b, b])])
print(stiffness.det())
