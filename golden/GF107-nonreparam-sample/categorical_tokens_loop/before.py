import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Categorical


class TinyLM(nn.Module):
    def __init__(self, vocab=11, d=8):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.cell = nn.GRUCell(d, d)
        self.head = nn.Linear(d, vocab)

    def forward(self, first, steps=5):
        h = torch.zeros(first.shape[0], self.cell.hidden_size)
        token = first
        logits_per_step = []
        for t in range(steps):
            h = self.cell(self.embed(token), h)
            logits = self.head(h)
            logits_per_step.append(logits)
            token = Categorical(logits=logits).sample()
        return torch.stack(logits_per_step, 1)


model = TinyLM()
out = model(torch.zeros(2, dtype=torch.long))
loss = F.cross_entropy(out.reshape(-1, 11), torch.zeros(10, dtype=torch.long))
loss.backward()
