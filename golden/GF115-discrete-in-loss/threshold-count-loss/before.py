import torch


def sparsity_step(gate_net, features, optimizer, budget=0.3):
    gates = torch.sigmoid(gate_net(features))
    active = (gates > 0.5).float()
    loss = (active.mean() - budget).abs()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()
