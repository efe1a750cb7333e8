import torch

torch.manual_seed(0)
angles = torch.zeros(3)
angles.requires_grad = True

rotation = torch.stack([angles[0].cos(), angles[1].sin() * 2, angles[2] + 1])
loss = (rotation * torch.arange(3.0)).sum()
print("FORWARD", repr(rotation.tolist()))
loss.backward()
print("GRAD angles", None if angles.grad is None else repr(angles.grad.tolist()))
