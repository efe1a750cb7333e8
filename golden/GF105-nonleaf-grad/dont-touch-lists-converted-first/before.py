import torch

weights = [torch.randn(3).double().requires_grad_() for _ in range(2)]
inputs = [torch.randn(5, 3, requires_grad=True).double() for _ in range(4)]  # inputs of a gradcheck-style test
optimizer = torch.optim.SGD(weights, lr=0.1)
total = sum((x @ weights[0]).sum() for x in inputs)
total.backward()
print(weights[0].grad)
