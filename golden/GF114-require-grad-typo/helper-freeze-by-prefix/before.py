import torch


def freeze(model, prefixes):
    frozen = 0
    for name, param in model.named_parameters():
        if name.startswith(tuple(prefixes)):
            param.requires_grads = False
            frozen += param.numel()
    return frozen


def trainable(model):
    return [p for p in model.parameters() if p.requires_grad]


def build_optimizer(model):
    freeze(model, ["embeddings.", "encoder.layer.0."])
    return torch.optim.AdamW(trainable(model), lr=2e-5)
