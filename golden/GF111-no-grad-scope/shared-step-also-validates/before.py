import torch
from torch import nn
from torch.nn import functional as F


class Classifier(nn.Module):
    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.backbone = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 128), nn.ReLU())
        self.fc = nn.Linear(128, num_classes)

    def forward(self, images):
        return self.fc(self.backbone(images))

    @torch.no_grad()
    def shared_step(self, batch):
        images, labels = batch
        logits = self(images)
        return F.cross_entropy(logits, labels), (logits.argmax(1) == labels).float().mean()

    def training_step(self, batch, optimizer):
        loss, acc = self.shared_step(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return {"loss": loss.item(), "acc": acc.item()}

    def validation_step(self, batch):
        loss, acc = self.shared_step(batch)
        return {"val_loss": loss.item(), "val_acc": acc.item()}
