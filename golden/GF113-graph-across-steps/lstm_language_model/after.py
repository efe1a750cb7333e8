# Word-level language model trained on consecutive chunks of one corpus.
import torch
import torch.nn as nn
import torch.nn.functional as F


class RNNModel(nn.Module):
    def __init__(self, ntoken, ninp, nhid):
        super().__init__()
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = nn.LSTM(ninp, nhid)
        self.decoder = nn.Linear(nhid, ntoken)
        self.nhid = nhid

    def forward(self, tokens, hidden):
        emb = self.encoder(tokens)
        output, hidden = self.rnn(emb, hidden)
        return self.decoder(output), hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters())
        return (weight.new_zeros(1, bsz, self.nhid), weight.new_zeros(1, bsz, self.nhid))


def train(model, chunks, lr=0.5):
    model.train()
    hidden = model.init_hidden(2)
    for data, targets in chunks:
        model.zero_grad()
        output, hidden = model(data, hidden)
        hidden = tuple(state.detach() for state in hidden)
        loss = F.cross_entropy(output.view(-1, output.size(-1)), targets.view(-1))
        print("FORWARD", repr(loss.item()))
        loss.backward()
        with torch.no_grad():
            for p in model.parameters():
                p.add_(p.grad, alpha=-lr)


if __name__ == "__main__":
    torch.manual_seed(0)
    model = RNNModel(10, 4, 6)
    stream = torch.randint(0, 10, (11, 2))
    chunks = [(stream[i : i + 5], stream[i + 1 : i + 6]) for i in (0, 5)]
    train(model, chunks)
    print("GRAD rnn.weight_hh_l0", repr(model.rnn.weight_hh_l0.grad.tolist()))
    print("GRAD encoder.weight", repr(model.encoder.weight.grad.tolist()))
