import numpy as np
import theano
import theano.tensor as T
from theano.tensor.shared_randomstreams import RandomStreams


class DropoutGRU(object):
    def __init__(self, n_in, n_hidden, p_keep=0.8):
        rng = np.random.RandomState(0)
        self.p_keep = p_keep
        self.W = theano.shared(rng.normal(0, 0.1, (n_in, 3 * n_hidden)), name="W")
        self.U = theano.shared(rng.normal(0, 0.1, (n_hidden, 3 * n_hidden)), name="U")
        self.srng = RandomStreams(seed=42)
        self.n_hidden = n_hidden

    def step(self, x_t, h_tm1):
        mask = self.srng.binomial(size=h_tm1.shape, p=self.p_keep, dtype=theano.config.floatX)
        h_drop = h_tm1 * mask / self.p_keep
        n = self.n_hidden
        gates = T.dot(x_t, self.W) + T.dot(h_drop, self.U)
        z = T.nnet.sigmoid(gates[:, :n])
        r = T.nnet.sigmoid(gates[:, n:2 * n])
        c = T.tanh(T.dot(x_t, self.W[:, 2 * n:]) + T.dot(r * h_drop, self.U[:, 2 * n:]))
        return (1 - z) * h_tm1 + z * c

    def apply(self, x, h0):
        hs, updates = theano.scan(self.step, sequences=[x], outputs_info=[h0])
        return hs, updates
