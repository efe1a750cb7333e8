import torch
import torch.nn.functional as F


def positive(raw, floor=1e-4):
    """Softplus keeps a scale positive while it is optimised unconstrained."""
    return F.softplus(raw) + floor


def gaussian_nll(x, loc, scale):
    return (0.5 * ((x - loc) / scale) ** 2 + torch.log(scale)).mean()


torch.manual_seed(22)
data = torch.randn(32) * 2.0 + 0.5
loc = torch.zeros(1, requires_grad=True)
raw_scale = torch.zeros(1, requires_grad=True)
opt = torch.optim.SGD([loc, raw_scale], lr=0.1)
scale = positive(raw_scale)
for step in range(3):
    opt.zero_grad()
    loss = gaussian_nll(data, loc, scale)
    if step == 0:
        print("FWD", loss.item())
    loss.backward()
    if step == 0:
        print("GRAD", [loc.grad.abs().sum().item(), raw_scale.grad.abs().sum().item()])
    opt.step()
