import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
ema = torch.optim.swa_utils.AveragedModel(model)
target_net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
loader = [(torch.randn(8, 4), torch.randn(8, 1)) for _ in range(16)]
accumulation = 4

running = 0.0
accumulated = 0
for i, (x, y) in enumerate(loader):
    with torch.no_grad():
        baseline = target_net(x)
    loss = ((model(x) - y) ** 2).mean() + 0.1 * ((model(x) - baseline) ** 2).mean()
    accumulated = accumulated + loss / accumulation
    running = 0.98 * running + 0.02 * loss.item()
    if (i + 1) % accumulation == 0:
        accumulated.backward()
        optimizer.step()
        optimizer.zero_grad()
        ema.update_parameters(model)
        accumulated = 0
        with torch.no_grad():
            for p, q in zip(target_net.parameters(), model.parameters()):
                p.data.mul_(0.99).add_(0.01 * q.data)
    print(i, running)
