import torch
from torch.autograd import Variable

# In [3]:
a = Variable(torch.ones(2, 2)).float().requires_grad_()
b = (a * a).mean()
b.backward()
print(a.grad)
