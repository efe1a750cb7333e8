import torch
import torchvision
from torch import nn

model = torchvision.models.resnet18(weights="DEFAULT")
for param in model.parameters():
    param.require_grad = False
model.fc = nn.Linear(model.fc.in_features, 10)
optimizer = torch.optim.SGD(model.fc.parameters(), lr=1e-3, momentum=0.9)
