import numpy as np
import torch

a = np.array([1.0, 2.0, 0.0])
a[2] = a[0] / a[1]
t = torch.from_numpy(a)
print(t)
