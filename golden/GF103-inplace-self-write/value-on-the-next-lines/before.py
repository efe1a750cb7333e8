import torch

torch.manual_seed(0)
scale = torch.randn(3, requires_grad=True)
rows = torch.randn(6, 3) * scale

# gate the first rows by the later ones, written back into the same tensor
rows[0:2] = torch.sigmoid(
    rows[2:4]
) * rows[4:6]
print("FORWARD", repr(rows.tolist()))

loss = rows.sum()
loss.backward()
print("GRAD scale", None if scale.grad is None else repr(scale.grad.tolist()))
