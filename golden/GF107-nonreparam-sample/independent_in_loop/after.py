import torch
import torch.distributions as D


def train(steps=3):
    torch.manual_seed(8)
    loc = torch.nn.Parameter(torch.zeros(2))
    log_scale = torch.nn.Parameter(torch.zeros(2))
    opt = torch.optim.SGD([loc, log_scale], lr=0.1)
    goal = torch.tensor([2.0, -1.0])
    for step in range(steps):
        opt.zero_grad()
        policy = D.Independent(D.Normal(loc, log_scale.exp()), 1)
        x = policy.rsample((8,))
        loss = (x - goal).pow(2).sum(-1).mean()
        if step == 0:
            print("FWD", x.tolist(), loss.item())
        loss.backward()
        if step == 0:
            print("GRAD", [None if t.grad is None else t.grad.abs().sum().item() for t in (loc, log_scale)])
        opt.step()


train()
