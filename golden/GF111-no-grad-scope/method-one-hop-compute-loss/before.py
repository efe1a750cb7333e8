import torch
from torch import nn


class Trainer:
    def __init__(self, model: nn.Module, lr: float = 1e-3):
        self.model = model
        self.criterion = nn.BCEWithLogitsLoss()
        self.optimizer = torch.optim.Adam(model.parameters(), lr=lr)

    @torch.inference_mode()
    def compute_loss(self, features, labels):
        logits = self.model(features).squeeze(-1)
        return self.criterion(logits, labels.float())

    def train_batch(self, features, labels):
        self.optimizer.zero_grad()
        loss = self.compute_loss(features, labels)
        loss.backward()
        self.optimizer.step()
        return loss.item()


trainer = Trainer(nn.Sequential(nn.Linear(20, 1)))
print(trainer.train_batch(torch.randn(4, 20), torch.tensor([0, 1, 1, 0])))
