import torch

torch.manual_seed(0)
w = torch.randn(4, requires_grad=True)
x = torch.randn(16, 4)
resume = False
if resume:
    w_unit = torch.load("w_unit.pt")
else:
    w_unit = w / w.norm()
    for step in range(3):
        score = (x @ w_unit).tanh().mean()
        (-score).backward()
        with torch.no_grad():
            w -= 0.1 * w.grad
            w.grad.zero_()
