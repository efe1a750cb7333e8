import torch
import torch.nn as nn
from torch.distributions import Normal


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.mu = nn.Linear(6, 2)
        self.log_std = nn.Linear(6, 2)


encoder = Encoder()
decoder = nn.Linear(2, 6)
x_val = torch.randn(16, 6)
encoder.eval()
decoder.eval()
with torch.no_grad():
    q = Normal(encoder.mu(x_val), encoder.log_std(x_val).exp())
    z = q.sample()
    val_loss = (decoder(z) - x_val).pow(2).mean()
print("validation reconstruction", val_loss.item())
