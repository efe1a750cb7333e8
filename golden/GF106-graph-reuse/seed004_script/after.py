import torch
import torch.nn as nn
import torch.distributions as dd

torch.manual_seed(0)
log_scale = nn.Parameter(torch.tensor([0.5]))
loc = nn.Parameter(torch.tensor([0.0]))

opt = torch.optim.SGD([log_scale, loc], lr=0.001)
p = dd.Normal(3.0, 2.0)

for it in range(4):
    # the scale must stay positive, so it is optimised in log space
    scale = torch.exp(log_scale)
    q = dd.Normal(loc=loc, scale=scale)
    opt.zero_grad()
    xs = q.rsample((200,))
    kl = (q.log_prob(xs) - p.log_prob(xs)).mean()
    if it == 0:
        print("FWD", xs[:5].tolist(), kl.item())
    kl.backward()
    if it == 0:
        print("GRAD", [log_scale.grad.abs().sum().item(), loc.grad.abs().sum().item()])
    opt.step()
