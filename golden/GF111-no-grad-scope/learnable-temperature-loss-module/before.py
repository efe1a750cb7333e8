import torch
import torch.nn as nn
import torch.nn.functional as F


class InfoNCE(nn.Module):
    """Contrastive loss with a learnable temperature."""

    def __init__(self, init_temperature=0.07):
        super().__init__()
        self.log_inv_tau = nn.Parameter(torch.tensor(1.0 / init_temperature).log())

    @torch.no_grad()
    def forward(self, a, b):
        a, b = F.normalize(a, dim=-1), F.normalize(b, dim=-1)
        logits = self.log_inv_tau.exp() * a @ b.t()
        return F.cross_entropy(logits, torch.arange(a.size(0)))


torch.manual_seed(0)
encoder = nn.Linear(8, 4)
criterion = InfoNCE()
optimizer = torch.optim.Adam([*encoder.parameters(), *criterion.parameters()], lr=1e-3)
views = [(torch.randn(6, 8), torch.randn(6, 8))]
for x1, x2 in views:
    loss = criterion(encoder(x1), encoder(x2))
    print("FORWARD", repr(loss.item()))
    optimizer.zero_grad()
    loss.backward()
    print("GRAD encoder.weight", None if encoder.weight.grad is None else repr(encoder.weight.grad.tolist()))
    print("GRAD criterion.log_inv_tau", None if criterion.log_inv_tau.grad is None else repr(criterion.log_inv_tau.grad.tolist()))
    optimizer.step()
