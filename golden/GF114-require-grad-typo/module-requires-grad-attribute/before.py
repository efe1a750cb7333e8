import torch
from torch import nn


class TextEncoderWithHead(nn.Module):
    def __init__(self, vocab, dim, classes, freeze_encoder=True):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(dim, 4, batch_first=True), num_layers=2)
        self.head = nn.Linear(dim, classes)
        if freeze_encoder:
            self.encoder.requires_grad = False

    def forward(self, tokens):
        return self.head(self.encoder(self.embed(tokens)).mean(1))
