import torch
from torch.autograd import grad

torch.manual_seed(0)
w = torch.randn(4, requires_grad=True)
x = torch.randn(16, 4)
w_unit = w / w.norm()
for step in range(3):
    score = (x @ w_unit).tanh().mean()
    (g,) = grad(-score, [w])
    with torch.no_grad():
        w -= 0.1 * g
