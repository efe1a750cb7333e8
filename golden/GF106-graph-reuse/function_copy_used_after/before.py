import torch
import torch.nn.functional as F


def fit(xs, ys, steps=3):
    torch.manual_seed(0)
    raw_prec = torch.zeros(1, requires_grad=True)
    slope = torch.zeros(1, requires_grad=True)
    opt = torch.optim.Adam([raw_prec, slope], lr=0.05)
    precision = F.softplus(raw_prec) + 1e-3
    for step in range(steps):
        opt.zero_grad()
        resid = ys - slope * xs
        nll = 0.5 * (precision * resid ** 2).sum() - 0.5 * len(xs) * torch.log(precision).sum()
        if step == 0:
            print("FWD", nll.item())
        nll.backward()
        if step == 0:
            print("GRAD", [raw_prec.grad.abs().sum().item(), slope.grad.abs().sum().item()])
        opt.step()
    return slope.detach(), precision.detach()


fit(torch.linspace(0, 1, 8), torch.linspace(0, 2, 8))
