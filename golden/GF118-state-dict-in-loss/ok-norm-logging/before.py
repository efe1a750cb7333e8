import torch


def log_weight_norms(model, writer, step):
    total = sum(v.float().norm() ** 2 for k, v in model.state_dict().items() if "weight" in k) ** 0.5
    writer.add_scalar("weights/norm", total.item(), step)


def train(model, loader, optimizer, criterion, writer):
    for step, (x, y) in enumerate(loader):
        loss = criterion(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        log_weight_norms(model, writer, step)
