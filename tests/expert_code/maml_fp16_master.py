"""MAML's differentiable inner loop, and fp32 master weights kept for a half-precision model."""
import torch
import torch.nn.functional as F

torch.manual_seed(0)
w = torch.randn(4, 1, requires_grad=True)
b = torch.zeros(1, requires_grad=True)
meta_opt = torch.optim.Adam([w, b], lr=1e-3)
inner_lr = 0.1


def forward(x, weights):
    return x @ weights[0] + weights[1]


for meta_step in range(2):
    meta_opt.zero_grad()
    meta_loss = 0.0
    for task in range(3):
        xs, ys, xq, yq = torch.randn(5, 4), torch.randn(5, 1), torch.randn(5, 4), torch.randn(5, 1)
        fast = [w, b]
        for _ in range(2):
            inner = F.mse_loss(forward(xs, fast), ys)
            grads = torch.autograd.grad(inner, fast, create_graph=True)
            fast = [p - inner_lr * g for p, g in zip(fast, grads)]
        meta_loss = meta_loss + F.mse_loss(forward(xq, fast), yq)
    meta_loss.backward()
    meta_opt.step()
    print(meta_step, round(meta_loss.item() / 3, 4))

# fp16 training with fp32 master copies: the optimizer steps the masters, the model is refreshed
model = torch.nn.Linear(4, 1).half()
master = [p.detach().clone().float().requires_grad_() for p in model.parameters()]
opt = torch.optim.SGD(master, lr=0.01)
scale = 128.0
for step in range(2):
    x = torch.randn(3, 4).half()
    loss = model(x).float().pow(2).mean()
    model.zero_grad()
    (loss * scale).backward()
    for m, p in zip(master, model.parameters()):
        m.grad = p.grad.detach().float() / scale
    opt.step()
    with torch.no_grad():
        for m, p in zip(master, model.parameters()):
            p.data.copy_(m.data)
# manual SGD on plain tensors
v = torch.randn(3, requires_grad=True)
for _ in range(3):
    objective = (v ** 2).sum()
    objective.backward()
    with torch.no_grad():
        v -= 0.1 * v.grad
        v.grad.zero_()
