# The forum answer's "fix": retain_graph=True makes the backward-twice error go away.
import torch
from torch import nn

torch.manual_seed(0)
rnn = nn.RNN(2, 4, num_layers=2)
head = nn.Linear(4, 1)
optimizer = torch.optim.SGD(list(rnn.parameters()) + list(head.parameters()), lr=0.05)
xs = torch.randn(2, 6, 1, 2)
ys = torch.randn(2, 1)

state = torch.zeros(2, 1, 4)
for i in range(2):
    seq_out, state = rnn(xs[i], state)
    pred = head(seq_out[-1]).squeeze(0)
    loss = (pred - ys[i]).pow(2).sum()
    print("FORWARD", repr(loss.item()))
    optimizer.zero_grad()
    loss.backward(retain_graph=True)
    optimizer.step()
print("GRAD rnn.weight_ih_l0", repr(rnn.weight_ih_l0.grad.tolist()))
print("GRAD head.weight", repr(head.weight.grad.tolist()))
