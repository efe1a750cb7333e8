import torch


def hard_example_loss(net, x, y, optimizer, threshold=0.1):
    err = (net(x) - y).abs()
    hard = (err > threshold).float()
    loss = (err * hard).sum() / hard.sum().clamp(min=1)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
