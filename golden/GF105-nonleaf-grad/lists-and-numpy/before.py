import numpy as np
import torch

init = [torch.randn(3, requires_grad=True) for _ in range(4)] * 2
opt = torch.optim.SGD(init[:4], lr=0.1)
w_np = np.random.randn(3, 2) * 0.01
w = torch.from_numpy(w_np).float().requires_grad_()
idx = torch.zeros(3, requires_grad=True).type(torch.LongTensor)
print(w.grad, idx)
opt2 = torch.optim.SGD([w], lr=0.1)
