import torch
from torch import nn

torch.manual_seed(0)
DIM = 2


class Planar(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.register_buffer("w", torch.empty(dim), persistent=True)
        self.register_buffer("u", torch.empty(dim), persistent=True)
        self.register_buffer("b", torch.empty(1), persistent=True)
        nn.init.normal_(self.w, std=0.1)
        nn.init.normal_(self.u, std=0.1)
        nn.init.zeros_(self.b)

    def set_params(self, ws, us, bs):
        self.w = ws.to(self.w.device)
        self.u = us.to(self.u.device)
        self.b = bs.to(self.b.device)

    def forward(self, z):
        lin = z @ self.w + self.b
        out = z + self.u * torch.tanh(lin).unsqueeze(-1)
        psi = (1 - torch.tanh(lin) ** 2).unsqueeze(-1) * self.w
        logdet = torch.log(torch.abs(1 + psi @ self.u) + 1e-6)
        return out, logdet


class Conditioner(nn.Module):
    def __init__(self, dim, hidden=4):
        super().__init__()
        self.lstm = nn.LSTM(dim, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 2 * dim + 1)

    def forward(self, seq):
        h, _ = self.lstm(seq)
        p = self.head(h[:, -1]).mean(0)
        return p[:DIM], p[DIM:2 * DIM], p[2 * DIM:]


flow = Planar(DIM)
cond = Conditioner(DIM)
context = torch.randn(3, 5, DIM)
z = torch.randn(8, DIM)

ws, us, bs = cond(context)
flow.set_params(ws, us, bs)
out, logdet = flow(z)
print("FORWARD", repr(out.tolist()), repr(logdet.tolist()))
loss = (out ** 2).sum() / 2 - logdet.sum()
loss.backward()
for name in ("lstm.weight_ih_l0", "head.weight"):
    grad = cond.get_parameter(name).grad
    print("GRAD cond." + name, None if grad is None else repr(grad.tolist()))
