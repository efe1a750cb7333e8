import torch
from torch import nn


class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc_mu = nn.Linear(4, 3)
        self.fc_log_std = nn.Linear(4, 3)

    def forward(self, h):
        # latent draw
        z = torch.normal(self.fc_mu(h), torch.exp(self.fc_log_std(h)))
        return z


torch.manual_seed(5)
head = Head()
z = head(torch.randn(2, 4))
loss = z.sum()
print("FWD", z.tolist(), loss.item())
loss.backward()
print("GRAD", [None if p.grad is None else p.grad.abs().sum().item() for p in head.parameters()])
