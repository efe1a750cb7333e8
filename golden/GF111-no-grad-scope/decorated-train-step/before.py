import torch
import torch.nn as nn
import torch.nn.functional as F


class Tagger(nn.Module):
    def __init__(self, vocab=50, dim=8, tags=4):
        super().__init__()
        self.emb = nn.Embedding(vocab, dim)
        self.lstm = nn.LSTM(dim, dim, batch_first=True)
        self.out = nn.Linear(dim, tags)

    def forward(self, tokens):
        hidden, _ = self.lstm(self.emb(tokens))
        return self.out(hidden)


@torch.no_grad()
def train_step(model, optimizer, tokens, tags):
    logits = model(tokens)
    loss = F.cross_entropy(logits.flatten(0, 1), tags.flatten())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


model = Tagger()
optimizer = torch.optim.Adam(model.parameters())
for epoch in range(2):
    print(train_step(model, optimizer, torch.randint(0, 50, (2, 6)), torch.randint(0, 4, (2, 6))))
