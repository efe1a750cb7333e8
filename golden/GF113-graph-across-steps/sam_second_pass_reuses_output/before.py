import torch
from torch import nn


class SAM(torch.optim.Optimizer):
    """Sharpness-aware minimisation: step to the worst nearby weights, then descend from there."""

    def __init__(self, params, base_optimizer, rho=0.05, **kwargs):
        super().__init__(params, dict(rho=rho, **kwargs))
        self.base_optimizer = base_optimizer(self.param_groups, **kwargs)

    @torch.no_grad()
    def first_step(self, zero_grad=False):
        for group in self.param_groups:
            norm = torch.norm(torch.stack([p.grad.norm() for p in group["params"] if p.grad is not None]))
            for p in group["params"]:
                if p.grad is not None:
                    e_w = p.grad * group["rho"] / (norm + 1e-12)
                    p.add_(e_w)
                    self.state[p]["e_w"] = e_w
        if zero_grad:
            self.zero_grad()

    @torch.no_grad()
    def second_step(self, zero_grad=False):
        for group in self.param_groups:
            for p in group["params"]:
                if "e_w" in self.state[p]:
                    p.sub_(self.state[p]["e_w"])
        self.base_optimizer.step()
        if zero_grad:
            self.zero_grad()


torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
criterion = nn.CrossEntropyLoss()
optimizer = SAM(model.parameters(), torch.optim.SGD, lr=0.1)
loader = [(torch.randn(5, 4), torch.randint(0, 3, (5,)))]

for images, target in loader:
    output = model(images)
    loss = criterion(output, target)
    print("FORWARD", repr(loss.item()))
    loss.backward()
    optimizer.first_step(zero_grad=True)
    criterion(output, target).backward()
    print("GRAD 0.weight", None if model[0].weight.grad is None else repr(model[0].weight.grad.tolist()))
    optimizer.second_step(zero_grad=True)
