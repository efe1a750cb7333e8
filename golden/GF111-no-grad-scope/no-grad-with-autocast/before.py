import torch
import torch.nn as nn

device = "cpu"
model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10)).to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
criterion = nn.CrossEntropyLoss()


def train(loader):
    for images, targets in loader:
        with torch.no_grad(), torch.autocast(device_type=device, dtype=torch.bfloat16):
            logits = model(images)
            loss = criterion(logits, targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


train([(torch.randn(2, 3, 8, 8), torch.tensor([1, 7]))])
