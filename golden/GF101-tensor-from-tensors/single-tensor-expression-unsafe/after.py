import torch

torch.manual_seed(0)
w = torch.nn.Parameter(torch.rand(3))
scaled = (w * 3).clone()
scaled.sum().backward()
