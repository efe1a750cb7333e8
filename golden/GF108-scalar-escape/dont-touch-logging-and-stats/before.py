import torch
from torch import nn
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
criterion = nn.MSELoss()
writer = SummaryWriter()
history = {"loss": [], "grad_norm": []}
running_loss = 0.0

progress = tqdm(range(100))
for step in progress:
    x, y = torch.randn(32, 8), torch.randn(32, 1)
    optimizer.zero_grad()
    loss = criterion(model(x), y)
    loss.backward()
    grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    running_loss += loss.item()
    history["loss"].append(float(loss))
    history["grad_norm"].append(grad_norm.item())
    stats = {"loss": loss.item(), "lr": optimizer.param_groups[0]["lr"]}
    progress.set_postfix(loss=f"{loss.item():.4f}")
    writer.add_scalar("train/loss", loss.item(), step)
    if step % 10 == 0:
        print(f"step {step}: {running_loss / 10:.4f}", stats)
        running_loss = 0.0
