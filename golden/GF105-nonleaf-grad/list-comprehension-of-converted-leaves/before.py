import torch

torch.manual_seed(0)
x = torch.linspace(-1, 1, 20, dtype=torch.float64)
y = 3 * x + 1

# slope and intercept, in double precision
params = [torch.randn(1, requires_grad=True).double() for _ in range(2)]
print("forward", repr((params[0] * x + params[1]).tolist()[:3]))
optimizer = torch.optim.SGD(params, lr=0.1)
loss = ((params[0] * x + params[1] - y) ** 2).mean()
optimizer.zero_grad()
loss.backward()
print("grad", "params.0", None if params[0].grad is None else repr(params[0].grad.tolist()))
optimizer.step()
