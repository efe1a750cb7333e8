import torch as T

T.manual_seed(0)
w = T.randn(4, requires_grad=True)
w_unit = w / w.norm()
x = T.randn(16, 4)
step = 0
while step < 3:
    score = (x @ w_unit).tanh().mean()
    if step == 0:
        print("FWD", score.item())
    (-score).backward()
    if step == 0:
        print("GRAD", [w.grad.abs().sum().item()])
    with T.no_grad():
        w -= 0.1 * w.grad
        w.grad.zero_()
    step += 1
