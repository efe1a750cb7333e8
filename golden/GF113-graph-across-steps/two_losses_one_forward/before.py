import torch
import torch.nn as nn


class AutoEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(8, 4), nn.ReLU(), nn.Linear(4, 2))
        self.decoder = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 8))

    def forward(self, x):
        code = self.encoder(x)
        return code, self.decoder(code)


def train_epoch(model, loader, optimizer, sparsity=1e-3):
    for x in loader:
        optimizer.zero_grad()
        code, recon = model(x)
        recon_loss = ((recon - x) ** 2).mean()
        sparse_loss = sparsity * code.abs().sum()
        recon_loss.backward()
        sparse_loss.backward()
        optimizer.step()


if __name__ == "__main__":
    model = AutoEncoder()
    loader = [torch.randn(16, 8) for _ in range(10)]
    train_epoch(model, loader, torch.optim.Adam(model.parameters(), lr=1e-3))
