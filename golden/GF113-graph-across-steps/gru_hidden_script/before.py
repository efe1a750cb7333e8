# Character-level GRU on a stream of batches: the hidden state is handed from one batch
# to the next so that the model sees one long sequence.
import torch
from torch import nn

torch.manual_seed(0)
rnn = nn.GRU(3, 5, batch_first=True)
head = nn.Linear(5, 1)
optimizer = torch.optim.SGD([*rnn.parameters(), *head.parameters()], lr=0.1)
batches = [(torch.randn(2, 4, 3), torch.randn(2, 1)) for _ in range(2)]

hidden = None
for step, (x, y) in enumerate(batches):
    out, hidden = rnn(x, hidden)
    loss = ((head(out[:, -1]) - y) ** 2).mean()
    print("FORWARD", repr(loss.item()))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
print("GRAD rnn.weight_hh_l0", None if rnn.weight_hh_l0.grad is None else repr(rnn.weight_hh_l0.grad.tolist()))
print("GRAD head.weight", None if head.weight.grad is None else repr(head.weight.grad.tolist()))
