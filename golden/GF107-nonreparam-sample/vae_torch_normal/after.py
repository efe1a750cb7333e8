import torch
import torch.nn as nn


class TinyVAE(nn.Module):
    def __init__(self, d_in=6, d_z=2):
        super().__init__()
        self.enc = nn.Linear(d_in, 2 * d_z)
        self.dec = nn.Linear(d_z, d_in)

    def forward(self, x):
        mu, logvar = self.enc(x).chunk(2, dim=-1)
        std = torch.exp(0.5 * logvar)
        z = mu + std * torch.randn(torch.broadcast_shapes(mu.shape, std.shape), dtype=mu.dtype, device=mu.device)
        return self.dec(z), z


torch.manual_seed(0)
model = TinyVAE()
x = torch.randn(4, 6)
x_hat, z = model(x)
loss = ((x_hat - x) ** 2).mean()
print("FWD", z.tolist(), loss.item())
loss.backward()
print("GRAD", [None if p.grad is None else p.grad.abs().sum().item() for p in model.enc.parameters()])
