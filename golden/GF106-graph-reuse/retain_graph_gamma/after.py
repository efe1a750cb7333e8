import torch
from torch.distributions import Gamma

torch.manual_seed(0)
log_rate = torch.nn.Parameter(torch.tensor([0.3]))
concentration = torch.nn.Parameter(torch.tensor([2.0]))
optimizer = torch.optim.SGD([log_rate, concentration], lr=0.01)
target = Gamma(5.0, 5.0)

for i in range(3):
    rate = log_rate.exp()
    model = Gamma(concentration=concentration, rate=rate)
    optimizer.zero_grad()
    draws = model.rsample((100,))
    cost = -(target.log_prob(draws) - model.log_prob(draws)).mean()
    if i == 0:
        print("FWD", draws[:4].tolist(), cost.item())
    if i == 1:
        print("STALE", not torch.equal(rate, log_rate.exp()))
    cost.backward()
    if i == 0:
        print("GRAD", [log_rate.grad.abs().sum().item(), concentration.grad.abs().sum().item()])
    optimizer.step()
