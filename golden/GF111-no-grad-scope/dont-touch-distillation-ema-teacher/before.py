import torch
from torch import nn
import torch.nn.functional as F


class Student(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 10))

    def forward(self, x):
        return self.net(x)


student = Student()
teacher = Student()
teacher.load_state_dict(student.state_dict())
for p in teacher.parameters():
    p.requires_grad_(False)
opt = torch.optim.SGD(student.parameters(), lr=0.1)
T = 2.0


@torch.no_grad()
def ema_update(momentum=0.999):
    for pt, ps in zip(teacher.parameters(), student.parameters()):
        pt.mul_(momentum).add_((1 - momentum) * ps)


for x in [torch.randn(8, 32) for _ in range(4)]:
    with torch.no_grad():
        soft_targets = F.softmax(teacher(x) / T, dim=-1)
    logits = student(x)
    loss = F.kl_div(F.log_softmax(logits / T, dim=-1), soft_targets, reduction="batchmean") * T * T
    opt.zero_grad()
    loss.backward()
    opt.step()
    ema_update()
