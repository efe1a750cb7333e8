import torch
import torch.nn as nn


class HeadModel(nn.Module):
    def __init__(self):
        super(HeadModel, self).__init__()
        self.rnn = nn.GRU(input_size=3, hidden_size=16, num_layers=2, batch_first=True)
        self.fc = nn.Linear(16, 5)

    def forward(self, seq):
        out, _ = self.rnn(seq)
        out = self.fc(out[:, -1, :])
        return out.view(-1, 5, 1)


class PlainGRU(nn.Module):
    def __init__(self):
        super(PlainGRU, self).__init__()
        self.rnn = nn.GRU(input_size=3, hidden_size=16, num_layers=2, batch_first=True)

    def forward(self, seq):
        out, _ = self.rnn(seq)
        return out


net = HeadModel()
x = torch.rand([2, 10, 3])
y = net(x)
y.retain_grad()
y[:, -1].sum().backward()
print(torch.allclose(y.grad[:, :-1], torch.tensor(0.)))

net = PlainGRU()
x = torch.rand([2, 10, 3])
y = net(x)
y.retain_grad()
y[:, -1].sum().backward()
print(torch.allclose(y.grad[:, :-1], torch.tensor(0.)))
