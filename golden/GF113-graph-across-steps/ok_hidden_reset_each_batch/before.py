import torch
import torch.nn as nn


class Tagger(nn.Module):
    def __init__(self, vocab, dim, tags):
        super().__init__()
        self.dim = dim
        self.emb = nn.Embedding(vocab, dim)
        self.lstm = nn.LSTM(dim, dim)
        self.fc = nn.Linear(dim, tags)
        self.hidden = self.init_hidden()

    def init_hidden(self):
        return (torch.zeros(1, 1, self.dim), torch.zeros(1, 1, self.dim))

    def forward(self, sentence):
        out, self.hidden = self.lstm(self.emb(sentence).view(len(sentence), 1, -1), self.hidden)
        return torch.log_softmax(self.fc(out.view(len(sentence), -1)), dim=1)


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(5, 7, batch_first=True)
        self.fc = nn.Linear(7, 2)

    def init_hidden(self, batch_size):
        return torch.zeros(1, batch_size, 7)

    def forward(self, x, h):
        out, h = self.gru(x, h)
        return self.fc(out[:, -1]), h


tagger = Tagger(20, 6, 3)
opt = torch.optim.SGD(tagger.parameters(), lr=0.1)
data = [(torch.randint(0, 20, (5,)), torch.randint(0, 3, (5,))) for _ in range(3)]
for epoch in range(5):
    for sentence, tags in data:
        tagger.zero_grad()
        tagger.hidden = tagger.init_hidden()
        loss = nn.functional.nll_loss(tagger(sentence), tags)
        loss.backward()
        opt.step()

clf = Classifier()
opt2 = torch.optim.Adam(clf.parameters())
for x, y in [(torch.randn(4, 3, 5), torch.randint(0, 2, (4,)))]:
    h = clf.init_hidden(x.size(0))
    logits, h = clf(x, h)
    loss = nn.functional.cross_entropy(logits, y)
    opt2.zero_grad()
    loss.backward()
    opt2.step()
