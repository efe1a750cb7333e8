import torch
from torch.distributions import Categorical


def finish_episode(policy, value_fn, optimizer, states, actions, returns):
    logits = policy(states)
    values = value_fn(states).squeeze(-1)
    log_probs = Categorical(logits=logits).log_prob(actions)
    advantage = returns - values.detach()
    policy_loss = -(log_probs * advantage).mean()
    value_loss = (returns - values).pow(2).mean()
    optimizer.zero_grad()
    (policy_loss + value_loss).backward()
    optimizer.step()
