import torch

torch.manual_seed(4)
for trial in range(2):
    p = torch.rand(3, requires_grad=True)
    p = p * 10
    score = (p ** 2).sum()
    print("forward", repr(score.tolist()))
    score.backward()
    print("grad", "p", None if p.grad is None else repr(p.grad.tolist()))
