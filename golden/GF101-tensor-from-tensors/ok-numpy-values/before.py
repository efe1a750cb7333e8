import numpy as np
import torch

arr = np.linspace(0, 1, 5)
a0 = arr[0] * 2
t = torch.tensor([a0, arr[1], np.log(arr[2] + 1)])
print(t)
