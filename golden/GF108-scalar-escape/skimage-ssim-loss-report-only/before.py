import torch
from torch import nn
from skimage.metrics import structural_similarity


class Denoiser(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 1, 3, padding=1))

    def forward(self, x):
        return x - self.body(x)


model = Denoiser()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
for step in range(10):
    clean = torch.rand(1, 1, 32, 32)
    noisy = clean + 0.1 * torch.randn_like(clean)
    restored = model(noisy)
    score = structural_similarity(restored[0, 0].detach().cpu().numpy(), clean[0, 0].numpy(), data_range=1.0)
    loss = torch.tensor(1.0 - score, requires_grad=True)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
