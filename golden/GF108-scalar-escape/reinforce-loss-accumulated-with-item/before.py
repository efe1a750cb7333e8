import torch
from torch import nn

torch.manual_seed(0)
policy = nn.Linear(4, 2)
optimizer = torch.optim.SGD(policy.parameters(), lr=0.01)
states = torch.randn(5, 4)
actions = [0, 1, 1, 0, 1]
rewards = [1.0, 0.5, -0.25, 2.0, 0.75]

log_probs = torch.log_softmax(policy(states), dim=-1)
rl_loss = 0
for i, (action, reward) in enumerate(zip(actions, rewards)):
    rl_loss -= log_probs[i, action].item() * reward
print("FORWARD", repr(float(rl_loss)))
optimizer.zero_grad()
rl_loss.backward()
optimizer.step()
print("GRAD policy.weight", None if policy.weight.grad is None else repr(policy.weight.grad.tolist()))
