import copy
import math

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

generator = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
critic = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1))
ema_generator = copy.deepcopy(generator)
g_opt = torch.optim.Adam(generator.parameters(), lr=1e-4)
d_opt = torch.optim.RMSprop(critic.parameters(), lr=5e-5)

q_net = nn.Linear(4, 2)
target_net = copy.deepcopy(q_net)
q_opt = torch.optim.Adam(q_net.parameters())
gamma = 0.99

for step in range(100):
    real = torch.from_numpy(np.random.randn(16, 4).astype(np.float32))
    fake = generator(torch.randn(16, 8))

    # WGAN critic step on fake.detach(), then weight clipping through .data
    d_loss = critic(fake.detach()).mean() - critic(real).mean()
    d_opt.zero_grad()
    d_loss.backward()
    d_opt.step()
    for p in critic.parameters():
        p.data.clamp_(-0.01, 0.01)

    # generator step, lr warm-up with math.cos, EMA of the weights
    for group in g_opt.param_groups:
        group["lr"] = 1e-4 * 0.5 * (1 + math.cos(math.pi * step / 100))
    g_loss = -critic(fake).mean()
    g_opt.zero_grad()
    g_loss.backward()
    g_opt.step()
    with torch.no_grad():
        for ema_p, p in zip(ema_generator.parameters(), generator.parameters()):
            ema_p.data.mul_(0.999).add_(p.data, alpha=0.001)

    # DQN: the TD target from the target network is a number on purpose
    state, next_state = torch.randn(4), torch.randn(4)
    reward, action = 1.0, 1
    with torch.no_grad():
        next_value = target_net(next_state).max().item()
    td_target = torch.tensor(reward + gamma * next_value)
    q_loss = F.smooth_l1_loss(q_net(state)[action], td_target)
    q_opt.zero_grad()
    q_loss.backward()
    q_opt.step()
    if step % 10 == 0:
        target_net.load_state_dict(q_net.state_dict())
        print(f"d {d_loss.item():.3f} g {g_loss.item():.3f} q {q_loss.item():.3f}")
