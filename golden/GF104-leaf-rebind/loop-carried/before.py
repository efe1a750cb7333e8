import torch

decay = torch.ones(4, requires_grad=True)
for epoch in range(3):
    decay = decay * 0.9
    loss = decay.sum()
    loss.backward()
    print(epoch, decay.grad)
