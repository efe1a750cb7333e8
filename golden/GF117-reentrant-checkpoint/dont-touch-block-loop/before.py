import torch
from torch import nn
from torch.utils.checkpoint import checkpoint


def run_blocks(stem, blocks, images):
    """Only the stem sees the raw images; the checkpointed blocks get its output."""
    x = stem(images)
    for blk in blocks:
        x = checkpoint(blk, x, use_reentrant=True)
    return x


def run_frozen_teacher(teacher, images):
    # a frozen teacher under no_grad: nothing inside needs a gradient
    with torch.no_grad():
        targets = checkpoint(teacher, images, use_reentrant=True)
    return targets
