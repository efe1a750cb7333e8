import torch
import torch.nn as nn
from torch.distributions import Normal


class NoisyEmitter(nn.Module):
    """A deterministic state walk that emits one noisy observation per time step."""

    def __init__(self, d=2):
        super().__init__()
        self.transition = nn.Linear(d, d)
        self.emission = nn.Linear(d, d)
        self.log_noise = nn.Parameter(torch.full((d,), -1.0))

    def forward(self, h, steps=4):
        observations = []
        for t in range(steps):
            h = torch.tanh(self.transition(h))
            emitted = Normal(self.emission(h), self.log_noise.exp())
            y_t = emitted.sample()
            observations.append(y_t)
        return torch.stack(observations, dim=1)


torch.manual_seed(11)
model = NoisyEmitter()
ys = model(torch.ones(3, 2))
loss = (ys - 1.0).pow(2).mean()
print("FWD", ys.tolist(), loss.item())
loss.backward()
print("GRAD", [None if p.grad is None else p.grad.abs().sum().item() for p in (model.emission.weight, model.log_noise)])
