import lightning.pytorch as pl
import torch
import torch.nn.functional as F
from torch import nn


class LitRegressor(pl.LightningModule):
    def __init__(self, width: int = 32):
        super().__init__()
        self.save_hyperparameters()
        self.mlp = nn.Sequential(nn.Linear(8, width), nn.ReLU(), nn.Linear(width, 1))

    def forward(self, x):
        return self.mlp(x).squeeze(-1)

    def training_step(self, batch, batch_idx):
        x, y = batch
        # no_grad copied from the validation step
        y_hat = self(x)
        loss = F.mse_loss(y_hat, y)
        self.log("train/loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val/loss", F.mse_loss(self(x), y))

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=1e-3)
