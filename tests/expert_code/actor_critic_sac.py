"""An advantage actor-critic step with an entropy temperature, and REINFORCE with a baseline."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Categorical, Normal

torch.manual_seed(0)


class ActorCritic(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(4, 16)
        self.pi = nn.Linear(16, 2)
        self.v = nn.Linear(16, 1)

    def forward(self, s):
        h = torch.tanh(self.body(s))
        return Categorical(logits=self.pi(h)), self.v(h).squeeze(-1)


net = ActorCritic()
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
log_alpha = torch.zeros(1, requires_grad=True)
alpha_opt = torch.optim.Adam([log_alpha], lr=1e-3)
gamma = 0.99

for episode in range(2):
    log_probs, values, rewards, entropies = [], [], [], []
    s = torch.randn(4)
    for t in range(5):
        dist, value = net(s)
        action = dist.sample()
        log_probs.append(dist.log_prob(action))
        entropies.append(dist.entropy())
        values.append(value)
        rewards.append(float(action.item() == 1))
        s = torch.randn(4)
    R, returns = 0.0, []
    for r in reversed(rewards):
        R = r + gamma * R
        returns.insert(0, R)
    alpha = log_alpha.exp().item()
    policy_loss, value_loss = 0.0, 0.0
    for log_prob, value, R, ent in zip(log_probs, values, returns, entropies):
        advantage = R - value.item()
        policy_loss = policy_loss - log_prob * advantage - alpha * ent
        value_loss = value_loss + F.smooth_l1_loss(value, torch.tensor(R))
    opt.zero_grad()
    (policy_loss + value_loss).backward()
    opt.step()
    entropy = torch.stack(entropies).mean().detach()
    alpha_loss = -(log_alpha * (entropy - 0.5)).mean()
    alpha_opt.zero_grad()
    alpha_loss.backward()
    alpha_opt.step()

    # a Gaussian policy trained with the score function: sample() is intended here
    mu = net.body(torch.randn(4)).mean()
    gauss = Normal(mu, 1.0)
    a = gauss.sample()
    reinforce = -gauss.log_prob(a) * (a.item() - 0.5)
    opt.zero_grad()
    reinforce.backward()
    opt.step()
    print(episode, round(float(policy_loss), 3), round(alpha, 3))
