import torch
from torch import nn


def reinforce_step(policy, optimizer, states, returns):
    dist = torch.distributions.Categorical(logits=policy(states))
    actions = dist.sample()
    loss = -(dist.log_prob(actions) * returns).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return actions


def critic_step(actor, critic, critic_optimizer, states, targets):
    actions = torch.distributions.Categorical(logits=actor(states)).sample()
    q = critic(torch.cat([states, nn.functional.one_hot(actions, 3).float()], dim=-1))
    loss = ((q.squeeze(-1) - targets) ** 2).mean()
    critic_optimizer.zero_grad()
    loss.backward()
    critic_optimizer.step()


def dropout_mask(x, keep=0.9):
    mask = torch.distributions.Bernoulli(probs=torch.full_like(x, keep)).sample()
    return x * mask / keep
