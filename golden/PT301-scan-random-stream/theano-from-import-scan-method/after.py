import numpy as np
import theano
import theano.tensor as T
from theano import scan
from theano.tensor.shared_randomstreams import RandomStreams


class NoisyRNN(object):
    def __init__(self, n_in, n_hidden, batch_size, noise_std=0.1, seed=1234):
        rng = np.random.RandomState(seed)
        self.batch_size = batch_size
        self.n_hidden = n_hidden
        self.noise_std = noise_std
        self.W_in = theano.shared(rng.uniform(-0.1, 0.1, (n_in, n_hidden)), name="W_in")
        self.W_rec = theano.shared(rng.uniform(-0.1, 0.1, (n_hidden, n_hidden)), name="W_rec")
        self.theano_rng = RandomStreams(rng.randint(2 ** 30))

    def _step(self, x_t, noise, h_tm1):
        return T.tanh(T.dot(x_t, self.W_in) + T.dot(h_tm1, self.W_rec) + noise)

    def get_cost(self, x):
        h0 = T.zeros((self.batch_size, self.n_hidden))
        noise_seq = self.theano_rng.normal((x.shape[0], self.batch_size, self.n_hidden), avg=0.0, std=self.noise_std)
        h, updates = scan(fn=self._step, sequences=[x, noise_seq], outputs_info=h0)
        cost = T.mean(h[-1] ** 2)
        return cost, updates


model = NoisyRNN(n_in=5, n_hidden=7, batch_size=4)
x = T.tensor3("x")
cost, updates = model.get_cost(x)
grads = T.grad(cost, [model.W_in, model.W_rec])
