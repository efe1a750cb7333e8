import copy

import torch
import torch.nn.functional as F


def inner_loop(model, support, query, lr_inner=0.01, steps=5):
    saved = copy.deepcopy(model.state_dict())
    opt = torch.optim.SGD(model.parameters(), lr=lr_inner)
    for _ in range(steps):
        loss = F.cross_entropy(model(support[0]), support[1])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        score = F.cross_entropy(model(query[0]), query[1]).item()
    model.load_state_dict(saved)
    return score
