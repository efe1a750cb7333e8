import torch
import torch.nn.functional as F


def angular_loss(pred, target):
    cos = F.cosine_similarity(pred, target, dim=-1)
    inside = cos.abs() < 1.0
    angle = torch.where(inside, torch.acos(cos), torch.zeros_like(cos))
    return angle.mean()


def train_step(model, batch, optimizer):
    loss = angular_loss(model(batch["x"]), batch["y"])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.detach()
