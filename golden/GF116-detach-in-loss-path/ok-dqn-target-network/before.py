import torch
import torch.nn.functional as F


def dqn_update(q_net, target_net, optimizer, batch, gamma=0.99):
    state, action, reward, next_state, done = batch
    q = q_net(state).gather(1, action.unsqueeze(1)).squeeze(1)
    next_q = target_net(next_state).max(1)[0].detach()
    target = reward + gamma * next_q * (1 - done)
    loss = F.smooth_l1_loss(q, target)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.detach()
