import torch
import torch.utils.checkpoint
from torch import nn


class AudioEncoder(nn.Module):
    def __init__(self, n_mels=80, dim=256):
        super().__init__()
        self.conv = nn.Conv1d(n_mels, dim, kernel_size=3, padding=1)
        self.blocks = nn.ModuleList(nn.TransformerEncoderLayer(dim, 4, batch_first=True) for _ in range(2))
        self.gradient_checkpointing = False

    def forward(self, input_features, attention_mask=None):
        if self.gradient_checkpointing and self.training:
            hidden = torch.utils.checkpoint.checkpoint(self.conv, input_features)
        else:
            hidden = self.conv(input_features)
        hidden = hidden.transpose(1, 2)
        for block in self.blocks:
            hidden = block(hidden)
        return hidden
