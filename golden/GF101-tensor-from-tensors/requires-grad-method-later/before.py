import torch

scale = torch.ones(())
scale.requires_grad_()
offset = scale * 0.5
pair = torch.tensor([scale, offset])
