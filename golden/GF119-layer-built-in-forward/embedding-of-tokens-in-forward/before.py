import torch
from torch.nn import Embedding, Module, GRU


class Encoder(Module):
    def __init__(self, vocab_size, hidden):
        super().__init__()
        self.vocab_size = vocab_size
        self.rnn = GRU(32, hidden, batch_first=True)

    def forward(self, tokens):
        vectors = Embedding(self.vocab_size, 32)(tokens)
        _, last = self.rnn(vectors)
        return last[-1]


print(Encoder(50, 12)(torch.randint(0, 50, (4, 6))).shape)
