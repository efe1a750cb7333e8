import torch
from torch import nn


class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc_mu = nn.Linear(4, 3)
        self.fc_log_std = nn.Linear(4, 3)

    def forward(self, h):
        # latent draw
        z_mean = self.fc_mu(h)
        z_std = torch.exp(self.fc_log_std(h))
        z = z_mean + z_std * torch.randn(torch.broadcast_shapes(z_mean.shape, z_std.shape), dtype=z_mean.dtype, device=z_mean.device)
        return z


torch.manual_seed(5)
head = Head()
z = head(torch.randn(2, 4))
loss = z.sum()
print("FWD", z.tolist(), loss.item())
loss.backward()
print("GRAD", [None if p.grad is None else p.grad.abs().sum().item() for p in head.parameters()])
