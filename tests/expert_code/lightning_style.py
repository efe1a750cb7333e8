"""A LightningModule-shaped model: the framework backpropagates what training_step returns."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class LitClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 4))
        self.register_buffer("class_weights", torch.ones(4))

    def forward(self, x):
        return self.encoder(x)

    def log(self, name, value):
        pass

    def training_step(self, batch, batch_idx):
        x, y = batch
        logits = self(x)
        loss = F.cross_entropy(logits, y, weight=self.class_weights)
        acc = (logits.argmax(-1) == y).float().mean()
        self.log("train_loss", loss.item())
        self.log("train_acc", acc)
        return loss

    @torch.no_grad()
    def validation_step(self, batch, batch_idx):
        x, y = batch
        logits = self(x)
        self.log("val_loss", F.cross_entropy(logits, y))
        self.log("val_acc", (logits.argmax(-1) == y).float().mean().item())

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=1e-3)


model = LitClassifier()
opt = model.configure_optimizers()
batch = (torch.randn(8, 10), torch.randint(0, 4, (8,)))
loss = model.training_step(batch, 0)
loss.backward()
opt.step()
model.validation_step(batch, 0)
