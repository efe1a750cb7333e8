from torch import nn

model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
for p in model[0].parameters():
    p.require_grad = False
frozen = sum(1 for p in model.parameters() if getattr(p, "require_grad", True) is False)
print(frozen)
