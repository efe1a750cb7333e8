# %% autoencoder, notebook style
import torch
from torch import nn

encoder = nn.Sequential(nn.Linear(20, 8), nn.ReLU(), nn.Linear(8, 2))
decoder = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 20))
opt = torch.optim.Adam(list(encoder.parameters()) + list(decoder.parameters()), lr=1e-3)
data = torch.randn(64, 20)

# %%
for epoch in range(10):
    code = encoder(data)
    code = code.detach()
    recon = decoder(code)
    loss = ((recon - data) ** 2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    print(epoch, loss.item())
