import torch


def l1_regularizer(module):
    return sum(t.abs().sum() for t in module.state_dict(keep_vars=True).values())


def train(model, batches, optimizer, criterion, lam=1e-5):
    for inputs, targets in batches:
        loss = criterion(model(inputs), targets) + lam * l1_regularizer(model)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
