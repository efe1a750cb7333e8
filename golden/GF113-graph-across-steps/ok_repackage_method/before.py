import torch
import torch.nn as nn


class Forecaster(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(1, 8)
        self.fc = nn.Linear(8, 1)

    def forward(self, x, hidden):
        out, hidden = self.rnn(x, hidden)
        return self.fc(out), hidden

    def init_hidden(self, bsz):
        return (torch.zeros(1, bsz, 8), torch.zeros(1, bsz, 8))

    def repackage_hidden(self, h):
        return tuple(v.clone().detach() for v in h)


model = Forecaster()
opt = torch.optim.Adam(model.parameters())
hidden = model.init_hidden(4)
for x, y in []:
    hidden = model.repackage_hidden(hidden)
    out, hidden = model(x, hidden)
    loss = ((out - y) ** 2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
