import copy

import torch
import torch.nn as nn
import torch.nn.functional as F

gamma = 0.99
q_net = nn.Sequential(nn.Linear(4, 64), nn.ReLU(), nn.Linear(64, 2))
target_net = copy.deepcopy(q_net)
optimizer = torch.optim.Adam(q_net.parameters(), lr=1e-3)


def optimize(batch):
    s, a, r, s2, done = batch
    q = q_net(s).gather(1, a.unsqueeze(1)).squeeze(1)
    with torch.no_grad():
        target = r + gamma * target_net(s2).max(1)[0] * (1 - done)
    loss = F.smooth_l1_loss(q, target)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


def sync(tau=0.005):
    with torch.no_grad():
        for p_t, p in zip(target_net.parameters(), q_net.parameters()):
            p_t.mul_(1 - tau).add_(p, alpha=tau)
