import torch
import torch.nn as nn
import torch.nn.functional as F


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(2, 4, 3, padding=1)
        self.proj = nn.Linear(4, 2)

    def forward(self, x):
        return self.proj(F.relu(self.conv(x)).mean(dim=2))


def reconstruction_loss(model, signal, target):
    return F.smooth_l1_loss(model(signal), target)


def fit(model, loader, epochs=1):
    optim = torch.optim.AdamW(model.parameters(), lr=3e-4)
    for _ in range(epochs):
        for signal, target in loader:
            loss = reconstruction_loss(model, signal, target)
            optim.zero_grad()
            loss.backward()
            optim.step()


if __name__ == "__main__":
    torch.manual_seed(0)
    data = [(torch.randn(8, 2, 16), torch.randn(8, 2)) for _ in range(3)]
    fit(Encoder(), data)
