import torch

torch.manual_seed(0)
eta1 = torch.nn.Parameter(torch.rand(10), requires_grad=True)
eta1_scaled = eta1 * 2
print("forward", repr(eta1_scaled.tolist()))
eta1_scaled.sum().backward()
print("grad", "eta1", None if eta1.grad is None else repr(eta1.grad.tolist()))
