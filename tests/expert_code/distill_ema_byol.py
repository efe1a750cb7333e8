"""Knowledge distillation from a frozen teacher, an EMA copy, and a BYOL-style stop-gradient."""
import copy

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)


def mlp(i, o):
    return nn.Sequential(nn.Linear(i, 16), nn.ReLU(), nn.Linear(16, o))


class Student(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = mlp(8, 8)
        self.predictor = mlp(8, 8)

    def forward(self, x):
        return self.backbone(x)


teacher = mlp(8, 8).eval()
for p in teacher.parameters():
    p.requires_grad_(False)
student = Student()
ema = copy.deepcopy(student)
for p in ema.parameters():
    p.requires_grad = False
opt = torch.optim.SGD(student.parameters(), lr=0.1, momentum=0.9)
T, decay = 2.0, 0.99


@torch.no_grad()
def update_ema(model, ema_model, decay):
    for ema_p, p in zip(ema_model.parameters(), model.parameters()):
        ema_p.mul_(decay).add_(p.detach(), alpha=1 - decay)


def byol_loss(online, target):
    return 2 - 2 * F.cosine_similarity(online, target.detach(), dim=-1).mean()


for step in range(3):
    x1, x2 = torch.randn(4, 8), torch.randn(4, 8)
    with torch.no_grad():
        soft = F.softmax(teacher(x1) / T, dim=-1)
        target_view = ema(x2)
    logits = student(x1)
    kd = F.kl_div(F.log_softmax(logits / T, dim=-1), soft, reduction="batchmean") * T * T
    ssl = byol_loss(student.predictor(student(x2)), target_view)
    loss = kd + ssl
    opt.zero_grad()
    loss.backward()
    opt.step()
    update_ema(student, ema, decay)
    print(step, round(loss.item(), 4), round(kd.item(), 4))
