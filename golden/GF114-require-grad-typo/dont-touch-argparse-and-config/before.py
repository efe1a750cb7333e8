import argparse

import torch

parser = argparse.ArgumentParser()
parser.add_argument("--require_grad", action="store_true")
args = parser.parse_args([])
args.require_grad = True

config = {"encoder": {"require_grad": False}}
config["encoder"]["require_grad"] = True


def setup(cfg, model):
    cfg.model.require_grad = False
    cfg.requires_grads = []
    for p in model.parameters():
        p.requires_grad = not cfg.model.require_grad
    return torch.optim.Adam(model.parameters())
