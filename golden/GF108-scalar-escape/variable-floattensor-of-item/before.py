import torch
from torch import nn
from torch.autograd import Variable

net = nn.Linear(10, 2)
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(net.parameters())

for step in range(5):
    inputs = torch.randn(4, 10)
    labels = torch.randint(0, 2, (4,))
    outputs = net(inputs)
    batch_loss = criterion(outputs, labels)
    loss = Variable(torch.FloatTensor([batch_loss.item()]), requires_grad=True)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
