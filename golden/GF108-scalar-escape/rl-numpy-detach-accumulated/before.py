import torch
from torch import nn

torch.manual_seed(0)
policy = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
optimizer = torch.optim.Adam(policy.parameters(), lr=1e-2)
states = torch.randn(6, 4)
actions = [2, 0, 1, 1, 0, 2]
rewards = [0.5, -1.0, 0.25, 1.5, 0.0, 2.0]

log_probs = torch.log_softmax(policy(states), dim=-1)
rl_loss = torch.zeros(1)
for t, action in enumerate(actions):
    rl_loss -= log_probs[t, action].cpu().detach().numpy() * rewards[t]
print("FORWARD", repr(rl_loss.tolist()))
optimizer.zero_grad()
rl_loss.backward()
optimizer.step()
print("GRAD 0.weight", None if policy[0].weight.grad is None else repr(policy[0].weight.grad.tolist()))
