import numpy as np
import torch


def normalise(batch):
    arr = np.asarray(batch, dtype=np.float32)
    arr[0] = arr[0] / arr[1]
    return torch.from_numpy(arr)
