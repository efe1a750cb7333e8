import torch

theta = torch.randn(3, dtype=torch.float64, requires_grad=True)


def features(theta, device):
    r = theta[0].exp()
    phi = torch.atan2(theta[1], theta[2])
    return torch.tensor([r, phi], dtype=torch.float64, device=device)


loss = features(theta, "cpu").sum()
loss.backward()
