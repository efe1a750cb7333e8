import numpy as np
import torch


def collate(samples):
    lengths = [len(s["tokens"]) for s in samples]
    labels = [s["label"] for s in samples]
    features = np.stack([s["features"] for s in samples])
    stats = {"mean": float(features.mean()), "std": float(features.std())}
    return (
        torch.tensor(lengths),
        torch.tensor(labels),
        torch.tensor(features),
        torch.tensor(list(stats.values())),
    )
