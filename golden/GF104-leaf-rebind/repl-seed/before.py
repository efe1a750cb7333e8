import torch

torch.manual_seed(0)
eta1 = torch.nn.Parameter(torch.rand(10), requires_grad=True)
eta1 = eta1 * 2
print("forward", repr(eta1.tolist()))
eta1.sum().backward()
print("grad", "eta1", None if eta1.grad is None else repr(eta1.grad.tolist()))
