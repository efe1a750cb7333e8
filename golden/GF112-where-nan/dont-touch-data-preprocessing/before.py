import numpy as np
import torch

raw = torch.from_numpy(np.random.rand(100, 3).astype("float32")) - 0.5
log_features = torch.where(raw > 0, torch.log(raw), torch.zeros_like(raw))
signal = torch.randn(100)
compressed = torch.where(signal >= 0, torch.sqrt(signal), -torch.sqrt(-signal))
dataset = torch.utils.data.TensorDataset(log_features, compressed)
