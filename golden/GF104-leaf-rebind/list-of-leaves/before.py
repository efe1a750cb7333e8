import numpy as np
import torch

layers = [torch.randn(4, 4, requires_grad=True) for _ in range(3)]
layers = layers + [torch.zeros(4, requires_grad=True)]
opt = torch.optim.SGD(layers, lr=0.01)
noise = np.random.randn(4)
noise = noise * 0.1
mask = [1.0, 0.0, 1.0, 1.0]
mask = mask * 2
print(layers[0].grad, noise, mask)
