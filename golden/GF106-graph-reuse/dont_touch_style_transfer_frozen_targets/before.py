import torch
import torch.nn.functional as F
from torch import nn, optim

cnn = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 8, 3)).eval()
for p in cnn.parameters():
    p.requires_grad_(False)
content_img = torch.rand(1, 3, 16, 16)
input_img = content_img.clone().requires_grad_(True)
optimizer = optim.LBFGS([input_img])
content_target = cnn(content_img)


def closure():
    optimizer.zero_grad()
    loss = F.mse_loss(cnn(input_img), content_target)
    loss.backward()
    return loss


for i in range(3):
    optimizer.step(closure)
