import torch

torch.manual_seed(3)
w = torch.randn(4, requires_grad=True)
feats = w * 2 + 1
feats = torch.stack([feats[0], feats[1], feats[2], feats[0] * feats[1]])
print("FORWARD", repr(feats.tolist()))
feats.sum().backward()
print("GRAD w", None if w.grad is None else repr(w.grad.tolist()))
