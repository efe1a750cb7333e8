"""DQN with a target network, epsilon-greedy actions and a soft target update."""
import copy
import random

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
random.seed(0)


class QNet(nn.Module):
    def __init__(self, n_obs=4, n_act=2):
        super().__init__()
        self.fc1 = nn.Linear(n_obs, 32)
        self.fc2 = nn.Linear(32, n_act)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


policy = QNet()
target = copy.deepcopy(policy)
target.load_state_dict(policy.state_dict())
optimizer = torch.optim.RMSprop(policy.parameters(), lr=1e-3)
gamma, tau, eps = 0.99, 0.005, 0.1
memory = [(np.random.randn(4).astype("float32"), random.randrange(2), 1.0, np.random.randn(4).astype("float32"), False)
          for _ in range(64)]


def select_action(state):
    if random.random() < eps:
        return random.randrange(2)
    with torch.no_grad():
        return policy(torch.as_tensor(state).unsqueeze(0)).argmax(1).item()


def optimize():
    batch = random.sample(memory, 16)
    states = torch.tensor(np.stack([b[0] for b in batch]))
    actions = torch.tensor([b[1] for b in batch]).unsqueeze(1)
    rewards = torch.tensor([b[2] for b in batch])
    next_states = torch.tensor(np.stack([b[3] for b in batch]))
    done = torch.tensor([float(b[4]) for b in batch])
    q = policy(states).gather(1, actions).squeeze(1)
    with torch.no_grad():
        next_q = target(next_states).max(1)[0]
        expected = rewards + gamma * next_q * (1 - done)
    loss = F.smooth_l1_loss(q, expected)
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_value_(policy.parameters(), 100)
    optimizer.step()
    return loss.item()


losses = []
for step in range(5):
    action = select_action(memory[step][0])
    losses.append(optimize())
    with torch.no_grad():
        for tp, pp in zip(target.parameters(), policy.parameters()):
            tp.data.copy_(tau * pp.data + (1 - tau) * tp.data)
print("mean loss", float(np.mean(losses)))
