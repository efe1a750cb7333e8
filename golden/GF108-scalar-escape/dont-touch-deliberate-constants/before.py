import math

import torch
from torch import nn
import torch.nn.functional as F


class ActorCritic(nn.Module):
    def __init__(self, obs_dim, n_actions):
        super().__init__()
        self.actor = nn.Linear(obs_dim, n_actions)
        self.critic = nn.Linear(obs_dim, 1)
        self.log_alpha = nn.Parameter(torch.zeros(()))

    def forward(self, obs):
        return torch.log_softmax(self.actor(obs), dim=-1), self.critic(obs).squeeze(-1)


def a2c_loss(model, obs, actions, returns):
    log_probs, values = model(obs)
    chosen = log_probs.gather(1, actions[:, None]).squeeze(1)
    losses = []
    for t in range(len(returns)):
        advantage = returns[t] - values[t].item()  # a constant baseline, on purpose
        losses.append(-chosen[t] * advantage)
    policy_loss = torch.stack(losses).mean()
    value_loss = F.mse_loss(values, returns)
    return policy_loss + 0.5 * value_loss


def sac_actor_loss(model, obs, q_values):
    log_probs, _ = model(obs)
    alpha = model.log_alpha.exp().item()  # the temperature is a coefficient here
    entropy_bonus = alpha * log_probs.exp().mul(log_probs).sum(-1)
    scale = math.sqrt(q_values.var().item() + 1e-6)
    return (entropy_bonus - q_values.mean(-1) / scale).mean()


model = ActorCritic(4, 3)
optimizer = torch.optim.Adam(model.parameters())
obs = torch.randn(6, 4)
actions = torch.randint(0, 3, (6,))
returns = torch.randn(6)
loss = a2c_loss(model, obs, actions, returns) + sac_actor_loss(model, obs, torch.randn(6, 3))
optimizer.zero_grad()
loss.backward()
optimizer.step()
