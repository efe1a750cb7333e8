import torch

w = torch.randn(3, requires_grad=True)
lr = 0.1
schedule = torch.tensor([lr, lr * 0.5, 0.01])
stats = torch.tensor([w[0].item(), w.sum().item()])
print(schedule, stats)
