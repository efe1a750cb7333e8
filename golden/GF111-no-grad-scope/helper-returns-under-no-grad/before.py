import torch
import torch.nn as nn
import torch.nn.functional as F


def embed(encoder, tokens):
    with torch.no_grad():
        hidden = encoder(tokens)
        return F.normalize(hidden.mean(dim=1), dim=-1)


torch.manual_seed(0)
encoder = nn.Sequential(nn.Embedding(100, 16), nn.Linear(16, 16))
optimizer = torch.optim.Adam(encoder.parameters(), lr=1e-3)
pairs = [(torch.randint(0, 100, (4, 7)), torch.randint(0, 100, (4, 7)), torch.tensor([1.0, -1.0, 1.0, -1.0]))]

for left, right, same in pairs:
    loss = F.cosine_embedding_loss(embed(encoder, left), embed(encoder, right), same)
    print("FORWARD", repr(loss.item()))
    optimizer.zero_grad()
    loss.backward()
    print("GRAD 0.weight", None if encoder[0].weight.grad is None else repr(encoder[0].weight.grad.abs().sum().item()))
    print("GRAD 1.weight", None if encoder[1].weight.grad is None else repr(encoder[1].weight.grad.tolist()))
    optimizer.step()
