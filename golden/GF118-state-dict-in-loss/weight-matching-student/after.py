import torch
from torch import nn

torch.manual_seed(0)
teacher = nn.Linear(5, 3)
student = nn.Linear(5, 3)
opt = torch.optim.Adam(student.parameters(), lr=1e-2)
anchor = {name: value.clone() for name, value in teacher.state_dict().items()}


def weight_distance(model, reference):
    total = 0.0
    for name, value in model.state_dict(keep_vars=True).items():
        total = total + (value - reference[name]).pow(2).sum()
    return total


for step in range(1):
    opt.zero_grad()
    loss = weight_distance(student, anchor)
    print("FORWARD", repr(loss.item()))
    loss.backward()
    print("GRAD student.weight", None if student.weight.grad is None else repr(student.weight.grad.tolist()))
    opt.step()
