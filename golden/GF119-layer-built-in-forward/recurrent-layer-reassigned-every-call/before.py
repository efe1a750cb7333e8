import torch
from torch import nn


class Tagger(nn.Module):
    def __init__(self, vocab, dim, tags):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.out = nn.Linear(2 * dim, tags)
        self.dim = dim

    def forward(self, tokens):
        x = self.embed(tokens)
        self.lstm = nn.LSTM(self.dim, self.dim, batch_first=True, bidirectional=True)
        states, _ = self.lstm(x)
        return self.out(states)


model = Tagger(100, 16, 5)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scores = model(torch.randint(0, 100, (2, 7)))
