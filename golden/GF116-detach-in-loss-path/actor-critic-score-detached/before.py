import torch
import torch.nn.functional as F
from torch import nn


class Agent:
    def __init__(self, state_dim, action_dim):
        self.actor = nn.Sequential(nn.Linear(state_dim, 64), nn.ReLU(), nn.Linear(64, action_dim), nn.Tanh())
        self.critic = nn.Sequential(nn.Linear(state_dim + action_dim, 64), nn.ReLU(), nn.Linear(64, 1))
        self.target_critic = nn.Sequential(nn.Linear(state_dim + action_dim, 64), nn.ReLU(), nn.Linear(64, 1))
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=1e-4)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=1e-3)

    def update(self, state, action, reward, next_state, gamma=0.99):
        with torch.no_grad():
            next_q = self.target_critic(torch.cat([next_state, self.actor(next_state)], 1))
            target = reward + gamma * next_q
        q = self.critic(torch.cat([state, action], 1))
        critic_loss = F.mse_loss(q, target)
        self.critic_opt.zero_grad()
        critic_loss.backward()
        self.critic_opt.step()

        score = self.critic(torch.cat([state, self.actor(state)], 1)).detach()
        actor_loss = -score.mean()
        self.actor_opt.zero_grad()
        actor_loss.backward()
        self.actor_opt.step()
