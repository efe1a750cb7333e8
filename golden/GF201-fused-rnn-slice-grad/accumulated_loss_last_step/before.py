import torch
import torch.nn as nn

gru = nn.GRU(8, 16, batch_first=True)
classifier = nn.Linear(16, 3)
criterion = nn.CrossEntropyLoss()
sequences = torch.randn(5, 20, 8)
labels = torch.randint(0, 3, (5,))

total_loss = 0.0
features, _ = gru(sequences)
features.retain_grad()
logits = classifier(features[:, -1])
total_loss += criterion(logits, labels)
total_loss.backward()
early = features.grad[:, :10].abs().mean()
print("gradient at the first ten steps:", early.item())
