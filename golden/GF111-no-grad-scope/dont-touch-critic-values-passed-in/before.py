import torch
import torch.nn as nn


class ActorCritic(nn.Module):
    def __init__(self, obs_dim=4, n_actions=2):
        super().__init__()
        self.actor = nn.Linear(obs_dim, n_actions)
        self.critic = nn.Linear(obs_dim, 1)


agent = ActorCritic()
optimizer = torch.optim.Adam(agent.parameters(), lr=3e-4)


def update(log_probs, values, rewards, next_state, gamma=0.99):
    with torch.no_grad():
        bootstrap = agent.critic(next_state)
    returns = []
    running = bootstrap
    for r in reversed(rewards):
        running = r + gamma * running
        returns.insert(0, running)
    returns = torch.cat(returns)
    advantage = returns - values
    loss = -(log_probs * advantage.detach()).mean() + advantage.pow(2).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


def rollout(states, rewards):
    log_probs, values = [], []
    for s in states:
        dist = torch.distributions.Categorical(logits=agent.actor(s))
        a = dist.sample()
        log_probs.append(dist.log_prob(a))
        values.append(agent.critic(s))
    update(torch.stack(log_probs), torch.cat(values), rewards, states[-1])


rollout([torch.randn(1, 4) for _ in range(5)], [torch.tensor([1.0])] * 5)
