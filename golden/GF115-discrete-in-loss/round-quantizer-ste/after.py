import torch
from torch import nn

torch.manual_seed(0)
encoder = nn.Linear(4, 3)
decoder = nn.Linear(3, 4)
optimizer = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()], lr=1e-3)
x = torch.randn(6, 4)

levels = encoder(x) * 2
codes = levels + (torch.round(levels) - levels).detach()
recon = decoder(codes / 2)
loss = ((recon - x) ** 2).mean()
print("FORWARD", repr(codes.tolist()))
print("FORWARD", repr(loss.item()))
optimizer.zero_grad()
loss.backward()
print("GRAD encoder.weight", None if encoder.weight.grad is None else repr(encoder.weight.grad.tolist()))
optimizer.step()
