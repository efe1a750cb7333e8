import numpy as np
import theano
import theano.tensor as T

SEED = 1234


class LatentRNN(object):
    def __init__(self, batch_size, n_in, n_hidden, n_latent):
        self.batch_size = batch_size
        self.n_latent = n_latent
        self.h_shape = (batch_size, n_hidden)
        self.h = T.matrix("h")
        init = np.random.RandomState(0)
        self.W_xh = theano.shared(init.normal(0, 0.1, (n_in, n_hidden)), name="W_xh")
        self.W_mu = theano.shared(init.normal(0, 0.1, (n_hidden, n_latent[-1])), name="W_mu")
        self.W_sig = theano.shared(init.normal(0, 0.1, (n_hidden, n_latent[-1])), name="W_sig")
        self.W_est = theano.shared(init.normal(0, 0.1, (n_latent[-1], n_in)), name="W_est")

    def sample(self, mu, logSigma):
        global SEED
        srng = T.shared_randomstreams.RandomStreams(seed=SEED)
        dev = srng.normal((self.batch_size, self.n_latent[-1]))
        z = mu + T.exp(0.5 * logSigma) * dev
        return z

    def iter_step(self, x_step, h):
        hidden = T.tanh(T.dot(x_step, self.W_xh) + h)
        z = self.sample(T.dot(hidden, self.W_mu), T.dot(hidden, self.W_sig))
        obj = T.sum(z ** 2)
        est = T.dot(z, self.W_est)
        return hidden, obj, est

    def unroll(self, x_in):
        [h_n, obj, x], inner_updates = theano.scan(
            fn=self.iter_step,
            sequences=[x_in],
            outputs_info=[T.as_tensor_variable(np.zeros(self.h_shape), self.h.dtype),
                          None,
                          None],
        )
        h_n_grads = T.grad(T.sum(h_n), [self.W_xh])
        return h_n, obj, x, h_n_grads
