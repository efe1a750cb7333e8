import torch
from torch import nn
from torch.utils.checkpoint import checkpoint


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(50, 8)
        self.layer = nn.Linear(8, 8)

    def forward(self, ids):
        return self.layer(self.embed(ids))


model = Model()
model.requires_grad_(False)
for name, param in model.named_parameters():
    # train the embeddings and the adapters only
    param.requires_grad = name.startswith("embed") or "lora" in name

h = model.embed(torch.randint(0, 50, (2, 3)))
out = checkpoint(model.layer, h, use_reentrant=True)
out.sum().backward()
