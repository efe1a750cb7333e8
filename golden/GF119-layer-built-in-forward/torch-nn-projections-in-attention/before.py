import torch


class SelfAttention(torch.nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.dim = dim
        self.out = torch.nn.Linear(dim, dim)

    def forward(self, x):
        q = torch.nn.Linear(self.dim, self.dim)(x)
        k = torch.nn.Linear(self.dim, self.dim)(x)
        weights = torch.softmax(q @ k.transpose(-2, -1) / self.dim ** 0.5, dim=-1)
        return self.out(weights @ x)


layer = SelfAttention(8)
print(layer(torch.randn(2, 5, 8)).shape)
