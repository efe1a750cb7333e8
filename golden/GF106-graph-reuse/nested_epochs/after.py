import torch
import torch.nn as nn

torch.manual_seed(0)
net = nn.Linear(3, 1)
log_temp = nn.Parameter(torch.zeros(1))
opt = torch.optim.SGD(list(net.parameters()) + [log_temp], lr=0.1)
batches = [(torch.randn(4, 3), torch.randn(4, 1)) for _ in range(2)]

for epoch in range(2):
    for xb, yb in batches:
        temperature = log_temp.exp()
        opt.zero_grad()
        loss = ((net(xb) / temperature - yb) ** 2).mean()
        if epoch == 0 and xb is batches[0][0]:
            print("FWD", loss.item())
        loss.backward()
        if epoch == 0 and xb is batches[0][0]:
            print("GRAD", [log_temp.grad.abs().sum().item()])
        opt.step()
