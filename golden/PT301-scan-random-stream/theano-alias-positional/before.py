import theano as th
from theano import tensor
from theano.tensor.shared_randomstreams import RandomStreams

rs = RandomStreams(seed=8)
alpha = th.shared(0.5, name="alpha")


def ar_step(y_prev, a):
    shock = rs.normal((10,), avg=0.0, std=1.0)
    return a * y_prev + shock


ys, updates = th.scan(ar_step, [], [tensor.zeros((10,))], [alpha], 50)
loss = (ys ** 2).mean()
g = tensor.grad(loss, alpha)
