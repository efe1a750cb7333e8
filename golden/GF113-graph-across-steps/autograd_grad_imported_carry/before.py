import torch
from torch.autograd import grad

torch.manual_seed(0)
rnn = torch.nn.RNNCell(3, 3)
h = torch.zeros(1, 3)
for x in torch.randn(5, 1, 3):
    h = rnn(x, h)
    loss = h.pow(2).sum()
    grads = grad(loss, list(rnn.parameters()))
    with torch.no_grad():
        for p, g in zip(rnn.parameters(), grads):
            p -= 0.1 * g
