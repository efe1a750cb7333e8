import numpy as np
import torch
from torch import nn
import torch.nn.functional as F


class Calibrator(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(5, 3)

    def forward(self, x):
        probs = torch.softmax(self.fc(x), dim=-1)
        return torch.from_numpy(probs.detach().numpy())


model = Calibrator()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
x, y = torch.randn(10, 5), torch.randint(0, 3, (10,))
loss = F.nll_loss(torch.log(model(x)), y)
optimizer.zero_grad()
loss.backward()
optimizer.step()

# a report outside no_grad reads the forward's result as numpy
test_probs = model(torch.randn(4, 5)).numpy()
print(np.round(test_probs, 3))
