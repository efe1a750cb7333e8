import copy

import torch
import torch.nn.functional as F


def distill(student, teacher_src, loader, steps, momentum=0.996):
    teacher = copy.deepcopy(teacher_src)
    opt = torch.optim.AdamW(student.parameters(), lr=5e-4)
    history = []
    for step, x in enumerate(loader):
        s_out = student(x)
        t_out = teacher(x).detach()
        loss = F.kl_div(F.log_softmax(s_out / 0.1, -1), F.softmax(t_out / 0.04, -1), reduction="batchmean")
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            for ps, pt in zip(student.parameters(), teacher.parameters()):
                pt.data.mul_(momentum).add_((1 - momentum) * ps.detach().data)
        history.append(loss.detach().cpu())
        if step >= steps:
            break
    return torch.stack(history)
