import torch
import torch.nn as nn
from torch.distributions import Normal


class Policy(nn.Module):
    def __init__(self):
        super().__init__()
        self.mean = nn.Linear(3, 1)
        self.log_std = nn.Parameter(torch.zeros(1))

    def forward(self, obs):
        return Normal(self.mean(obs), self.log_std.exp())


def reinforce_step(policy, optimizer, obs, reward_fn):
    dist = policy(obs)
    action = dist.sample()
    reward = reward_fn(action)
    loss = -(dist.log_prob(action) * reward).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


class Agent(nn.Module):
    def __init__(self):
        super().__init__()
        self.mu = nn.Linear(3, 2)

    def act(self, obs):
        d = Normal(self.mu(obs), 0.3)
        a = d.sample()
        return a, d.log_prob(a).sum(-1)
