# %% [markdown]
# Online forecasting with a GRU cell, one time step at a time.

# %%
import torch
import torch.nn as nn

torch.manual_seed(0)
cell = nn.GRUCell(1, 8)
out_layer = nn.Linear(8, 1)
opt = torch.optim.Adam(list(cell.parameters()) + list(out_layer.parameters()), lr=1e-2)
signal = torch.sin(torch.linspace(0, 20, 401)).view(-1, 1, 1)

# %%
h = torch.zeros(1, 8)
for chunk in range(0, 400, 50):
    preds = []
    for t in range(chunk, chunk + 50):
        h = cell(signal[t], h)
        preds.append(out_layer(h))
    loss = ((torch.stack(preds) - signal[chunk + 1 : chunk + 51]) ** 2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    print(chunk, loss.item())
