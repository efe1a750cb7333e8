import torch
import torch.nn as nn

finetune = False  # switched off while profiling the data pipeline


class AutoEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Linear(12, 3)
        self.decoder = nn.Linear(3, 12)

    def forward(self, x):
        return self.decoder(self.encoder(x))


def train(model, batches, lr=1e-3):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for x in batches:
        with torch.set_grad_enabled(finetune):
            recon = model(x)
        loss = nn.functional.mse_loss(recon, x)
        opt.zero_grad()
        loss.backward()
        opt.step()


train(AutoEncoder(), [torch.randn(5, 12)])
