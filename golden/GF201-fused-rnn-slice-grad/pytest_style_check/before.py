import torch
import torch.nn as nn


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(3, 4, num_layers=1, batch_first=True)

    def forward(self, x):
        return self.gru(x)[0]


def test_gradient_reaches_early_steps():
    enc = Encoder()
    y = enc(torch.rand(2, 6, 3))
    y.retain_grad()
    loss = y[:, -1].sum()
    loss.backward()
    assert not torch.allclose(y.grad[:, 0], torch.zeros(2, 4))
