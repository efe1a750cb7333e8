import numpy as np
import torch
from torch import nn

torch.manual_seed(0)
actor = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
states = torch.randn(6, 4)
advantages = torch.randn(6)

log_probs = torch.log_softmax(actor(states), dim=-1)[:, 0]
act_loss = torch.tensor(np.mean(-(log_probs * advantages).detach().numpy()))
act_loss.requires_grad_(True)
print("FORWARD", repr(act_loss.item()))
act_loss.backward()
print("GRAD actor.0.weight", None if actor[0].weight.grad is None else repr(actor[0].weight.grad.tolist()))
