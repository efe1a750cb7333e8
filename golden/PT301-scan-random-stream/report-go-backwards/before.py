import theano
import theano.tensor as T
from theano.tensor.shared_randomstreams import RandomStreams

srng = RandomStreams(seed=3)
w = theano.shared(1.0, name="w")
xs = T.matrix("xs")


def back_step(x_t, h):
    return T.tanh(w * x_t + h + srng.normal((5,)))


hs, _ = theano.scan(back_step, sequences=[xs], outputs_info=[T.zeros((5,))], go_backwards=True)
