import torch
import torch.nn as nn
from torch.distributions import Normal


class Actor(nn.Module):
    def __init__(self):
        super().__init__()
        self.mu = nn.Linear(4, 1)
        self.log_std = nn.Parameter(torch.zeros(1))


def run_episode(actor, optimizer, env, horizon=50, gamma=0.99):
    log_probs, rewards = [], []
    obs = env.reset()
    for t in range(horizon):
        dist = Normal(actor.mu(obs), actor.log_std.exp())
        action = dist.sample()
        log_probs.append(dist.log_prob(action).sum())
        obs, reward, done = env.step(action.numpy())
        rewards.append(reward)
        if done:
            break
    returns, running = [], 0.0
    for r in reversed(rewards):
        running = r + gamma * running
        returns.insert(0, running)
    loss = -(torch.stack(log_probs) * torch.tensor(returns)).sum()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
