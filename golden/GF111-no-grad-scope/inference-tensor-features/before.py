import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
feature_extractor = nn.Sequential(nn.Linear(12, 12), nn.Tanh())  # pretrained, frozen
probe = nn.Linear(12, 3)
optimizer = torch.optim.SGD(probe.parameters(), lr=0.1)
loader = [(torch.randn(6, 12), torch.randint(0, 3, (6,)))]

for raw, labels in loader:
    with torch.inference_mode():
        features = feature_extractor(raw)
    print("FORWARD", repr(features.tolist()))
    logits = probe(features)
    loss = F.cross_entropy(logits, labels)
    optimizer.zero_grad()
    loss.backward()
    print("GRAD probe.weight", None if probe.weight.grad is None else repr(probe.weight.grad.tolist()))
    optimizer.step()
