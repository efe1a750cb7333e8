import torch


class LayerSpec:
    def __init__(self, name, require_grad=True):
        self.name = name
        self.require_grad = require_grad

    def apply(self, model):
        for pname, p in model.named_parameters():
            if pname.startswith(self.name):
                p.requires_grad = self.require_grad


spec = LayerSpec("encoder")
spec.require_grad = False
