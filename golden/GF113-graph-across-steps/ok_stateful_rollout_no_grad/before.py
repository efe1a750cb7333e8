import torch
import torch.nn as nn


class RecurrentPolicy(nn.Module):
    def __init__(self, obs_dim=4, hidden=16, actions=2):
        super().__init__()
        self.gru = nn.GRUCell(obs_dim, hidden)
        self.pi = nn.Linear(hidden, actions)
        self.v = nn.Linear(hidden, 1)

    def forward(self, obs, h):
        h = self.gru(obs, h)
        return self.pi(h), self.v(h).squeeze(-1), h


def train(policy, env_step, optimizer, updates=10, horizon=8, gamma=0.99):
    obs = torch.zeros(1, 4)
    h = torch.zeros(1, 16)
    for update in range(updates):
        start_h = h
        observations, rewards, actions = [], [], []
        with torch.no_grad():
            for t in range(horizon):
                logits, value, h = policy(obs, h)
                action = torch.distributions.Categorical(logits=logits).sample()
                observations.append(obs)
                actions.append(action)
                obs, reward = env_step(action)
                rewards.append(reward)
        # Recompute the rollout with gradients, from the state at its start.
        rh = start_h
        loss = 0.0
        ret = 0.0
        for t in reversed(range(horizon)):
            ret = rewards[t] + gamma * ret
        for t in range(horizon):
            logits, value, rh = policy(observations[t], rh)
            advantage = ret - value.item()
            loss = loss - torch.distributions.Categorical(logits=logits).log_prob(actions[t]) * advantage
            loss = loss + (ret - value) ** 2
        optimizer.zero_grad()
        loss.sum().backward()
        optimizer.step()


if __name__ == "__main__":
    policy = RecurrentPolicy()
    train(policy, lambda a: (torch.randn(1, 4), 1.0), torch.optim.Adam(policy.parameters()))
