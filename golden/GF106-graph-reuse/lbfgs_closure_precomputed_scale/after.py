import torch

torch.manual_seed(0)
x = torch.randn(32, 3)
y = x @ torch.tensor([0.5, -1.0, 2.0]) + 0.1 * torch.randn(32)

log_scale = torch.zeros(3, requires_grad=True)
optimizer = torch.optim.LBFGS([log_scale], lr=0.5, max_iter=5)
scale = torch.exp(log_scale)
print("FWD", (x @ scale).tolist()[:4])


def closure():
    scale = torch.exp(log_scale)
    optimizer.zero_grad()
    loss = ((x @ scale - y) ** 2).mean()
    loss.backward()
    return loss


optimizer.step(closure)
print("GRAD", [None if log_scale.grad is None else log_scale.grad.abs().sum().item()])
