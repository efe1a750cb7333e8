from torch import nn


class DomainAdapters(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.adapters = {"news": nn.Linear(dim, dim), "legal": nn.Linear(dim, dim)}

    def forward(self, x, domain):
        adapter = self.adapters.get(domain)
        return x if adapter is None else x + adapter(x)
