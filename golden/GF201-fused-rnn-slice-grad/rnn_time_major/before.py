import torch
import torch.nn as nn

rnn = nn.RNN(input_size=2, hidden_size=6)
steps = torch.randn(20, 1, 2)
outputs, h_last = rnn(steps)
outputs.retain_grad()
outputs[-1].pow(2).sum().backward()
per_step = outputs.grad[:-1].abs().sum(dim=(1, 2))
print(per_step)
