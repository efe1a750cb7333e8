import torch
import torch.nn as nn
import torch.nn.functional as F


def repackage_hidden(h):
    """Wraps hidden states in new Tensors, to detach them from their history."""
    if isinstance(h, torch.Tensor):
        return h.detach()
    return tuple(repackage_hidden(v) for v in h)


class LM(nn.Module):
    def __init__(self, ntoken=50, nhid=16):
        super().__init__()
        self.emb = nn.Embedding(ntoken, nhid)
        self.rnn = nn.LSTM(nhid, nhid)
        self.out = nn.Linear(nhid, ntoken)

    def forward(self, x, hidden):
        output, hidden = self.rnn(self.emb(x), hidden)
        return self.out(output), hidden


def train(model, batches, optimizer, clip=0.25):
    hidden = None
    for data, targets in batches:
        if hidden is not None:
            hidden = repackage_hidden(hidden)
        optimizer.zero_grad()
        output, hidden = model(data, hidden)
        loss = F.cross_entropy(output.flatten(0, 1), targets.flatten())
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()


def train_gru(rnn, head, batches, optimizer):
    h = torch.zeros(1, 4, rnn.hidden_size)
    for x, y in batches:
        out, h = rnn(x, h)
        loss = F.mse_loss(head(out), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        h = h.detach()


if __name__ == "__main__":
    model = LM()
    train(model, [], torch.optim.SGD(model.parameters(), lr=20))
    rnn, head = nn.GRU(3, 8), nn.Linear(8, 1)
    train_gru(rnn, head, [], torch.optim.Adam([*rnn.parameters(), *head.parameters()]))
