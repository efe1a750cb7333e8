import torch
from torch import nn

encoder = nn.Linear(10, 4)
decoder = nn.Linear(4, 10)
image = torch.randn(1, 10)

# Start from the encoder's code, then optimise the code itself: a new leaf on purpose.
z = torch.tensor(encoder(image).detach().numpy(), requires_grad=True)
optimizer = torch.optim.Adam([z], lr=0.05)
anchor = torch.tensor(encoder(image).mean().item())
for step in range(50):
    optimizer.zero_grad()
    loss = ((z - anchor) ** 2).sum() + 0.1 * z.norm()
    loss.backward()
    optimizer.step()

# A unit test of a logger: a scalar leaf made by hand.
fake_loss = torch.randn(1)
fake_loss.requires_grad = True
fake_loss.backward()
