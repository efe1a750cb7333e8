import torch

logits = torch.randn(4, 6, requires_grad=True)
probs = torch.sigmoid(logits)
pruned = probs.clone()
pruned[pruned < 0.3] = 0
gates = torch.softmax(logits, dim=-1).detach()
gates[gates < 0.1] = 0
loss = (pruned * gates).sum() + probs.sum()
loss.backward()
