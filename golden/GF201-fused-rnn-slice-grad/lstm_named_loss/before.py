import torch
from torch import nn

lstm = nn.LSTM(4, 8, batch_first=True)
criterion = nn.MSELoss()
seq = torch.randn(3, 12, 4)
target = torch.randn(3, 8)

out, (h_n, c_n) = lstm(seq)
out.retain_grad()
last = out[:, -1]
loss = criterion(last, target)
loss.backward()
first_step_grad = out.grad[:, 0]
print("vanishing?", first_step_grad.abs().max().item())
