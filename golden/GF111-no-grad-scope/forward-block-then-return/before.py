import torch
import torch.nn as nn
import torch.nn.functional as F


class DepthNet(nn.Module):
    """Encoder features are computed without grad "to save memory", then upsampled."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Conv2d(3, 8, 3, padding=1)
        self.decoder = nn.Conv2d(8, 1, 3, padding=1)

    def forward(self, image):
        with torch.no_grad():
            features = self.encoder(image)
            depth = self.decoder(torch.relu(features))
        return F.interpolate(depth, scale_factor=2.0)


torch.manual_seed(0)
model = DepthNet()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
image = torch.randn(2, 3, 8, 8)
target = torch.rand(2, 1, 16, 16)
prediction = model(image)
loss = F.l1_loss(prediction, target)
print("FORWARD", repr(loss.item()))
optimizer.zero_grad()
loss.backward()
print("GRAD encoder.weight", None if model.encoder.weight.grad is None else repr(model.encoder.weight.grad.sum().item()))
print("GRAD decoder.weight", None if model.decoder.weight.grad is None else repr(model.decoder.weight.grad.sum().item()))
optimizer.step()
