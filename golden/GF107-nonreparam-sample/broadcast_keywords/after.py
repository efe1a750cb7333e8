import torch

torch.manual_seed(7)
row_mean = torch.randn(4, 1, requires_grad=True)
col_log_std = torch.randn(1, 5, requires_grad=True)
col_std = col_log_std.exp()
draws = row_mean + col_std * torch.randn(torch.broadcast_shapes(row_mean.shape, col_std.shape), dtype=row_mean.dtype, device=row_mean.device)
loss = draws.square().mean()
print("FWD", draws.tolist(), loss.item())
loss.backward()
print("GRAD", [None if t.grad is None else t.grad.abs().sum().item() for t in (row_mean, col_log_std)])
