import torch

torch.manual_seed(0)
w = torch.nn.Parameter(torch.rand(3))
scaled = torch.tensor(w * 3)
scaled.sum().backward()
