import torch
import torch.nn as nn
import torch.nn.functional as F


class LinearProbe(nn.Module):
    """A frozen backbone under no_grad; only the head trains."""

    def __init__(self):
        super().__init__()
        self.backbone = nn.Linear(6, 16)
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        with torch.no_grad():
            features = torch.relu(self.backbone(x))
        return self.head(features)


def soft_targets(teacher, x, temperature=2.0):
    with torch.no_grad():
        logits = teacher(x)
    return F.softmax(logits / temperature, dim=-1)


torch.manual_seed(0)
student = LinearProbe()
teacher = nn.Linear(6, 3)
optimizer = torch.optim.SGD(student.head.parameters(), lr=0.1)
x = torch.randn(5, 6)
loss = F.kl_div(F.log_softmax(student(x), dim=-1), soft_targets(teacher, x), reduction="batchmean")
print("FORWARD", repr(loss.item()))
optimizer.zero_grad()
loss.backward()
print("GRAD head.weight", None if student.head.weight.grad is None else repr(student.head.weight.grad.sum().item()))
optimizer.step()
