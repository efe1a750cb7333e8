import random

import torch
import torch.nn as nn


class Encoder(nn.Module):
    def __init__(self, vocab, hidden):
        super().__init__()
        self.embedding = nn.Embedding(vocab, hidden)
        self.gru = nn.GRU(hidden, hidden)

    def forward(self, src):
        return self.gru(self.embedding(src))


class Decoder(nn.Module):
    def __init__(self, vocab, hidden):
        super().__init__()
        self.embedding = nn.Embedding(vocab, hidden)
        self.gru = nn.GRU(hidden, hidden)
        self.out = nn.Linear(hidden, vocab)

    def forward(self, token, hidden):
        output, hidden = self.gru(self.embedding(token).unsqueeze(0), hidden)
        return self.out(output.squeeze(0)), hidden


def train_step(src, tgt, encoder, decoder, enc_opt, dec_opt, teacher_forcing=0.5):
    enc_opt.zero_grad()
    dec_opt.zero_grad()
    _, decoder_hidden = encoder(src)
    token = tgt[0]
    loss = 0
    for t in range(1, tgt.size(0)):
        logits, decoder_hidden = decoder(token, decoder_hidden)
        loss = loss + nn.functional.cross_entropy(logits, tgt[t])
        token = tgt[t] if random.random() < teacher_forcing else logits.argmax(-1).detach()
    loss.backward()
    enc_opt.step()
    dec_opt.step()
    return loss.item() / (tgt.size(0) - 1)


def train(pairs, encoder, decoder, epochs=2):
    enc_opt = torch.optim.SGD(encoder.parameters(), lr=0.01)
    dec_opt = torch.optim.SGD(decoder.parameters(), lr=0.01)
    for epoch in range(epochs):
        for src, tgt in pairs:
            train_step(src, tgt, encoder, decoder, enc_opt, dec_opt)


def train_inline(pairs, encoder, decoder, opt):
    for src, tgt in pairs:
        opt.zero_grad()
        _, hidden = encoder(src)
        loss = 0
        for t in range(1, tgt.size(0)):
            logits, hidden = decoder(tgt[t - 1], hidden)
            loss = loss + nn.functional.cross_entropy(logits, tgt[t])
        loss.backward()
        opt.step()


if __name__ == "__main__":
    enc, dec = Encoder(30, 16), Decoder(30, 16)
    data = [(torch.randint(0, 30, (6, 2)), torch.randint(0, 30, (5, 2)))]
    train(data, enc, dec)
    train_inline(data, enc, dec, torch.optim.Adam([*enc.parameters(), *dec.parameters()]))
