"""A variational RNN in the shape of seed 002, written for the PT301 acceptance test (it is
not a golden case): a class whose step method calls a sampling method that makes its own
random stream from a module-level seed, three step outputs, `None` outputs_info."""
import numpy as np
import pytensor
import pytensor.tensor as T
from pytensor.tensor.random.utils import RandomStream

NOISE_SEED = 31337


class VariationalRNN:
    def __init__(self, batch_size, n_in, n_hidden, n_latent):
        self.batch_size, self.n_latent = batch_size, n_latent
        self.h_shape = (batch_size, n_hidden)
        w = np.random.RandomState(42)
        self.W_xh = pytensor.shared(w.uniform(-0.4, 0.4, (n_in, n_hidden)), name="W_xh")
        self.W_hh = pytensor.shared(w.uniform(-0.4, 0.4, (n_hidden, n_hidden)), name="W_hh")
        self.b_h = pytensor.shared(np.full(n_hidden, 0.1), name="b_h")
        self.W_mu = pytensor.shared(w.uniform(-0.4, 0.4, (n_hidden, n_latent)), name="W_mu")
        self.W_ls = pytensor.shared(w.uniform(-0.4, 0.4, (n_hidden, n_latent)), name="W_ls")
        self.W_zx = pytensor.shared(w.uniform(-0.4, 0.4, (n_latent, n_in)), name="W_zx")

    def reparameterize(self, mean, log_var):
        stream = RandomStream(seed=NOISE_SEED)
        deviation = stream.normal(0.0, 1.0, size=(self.batch_size, self.n_latent))
        return mean + T.exp(0.5 * log_var) * deviation

    def recurrence(self, x_t, h_prev):
        h_t = T.tanh(T.dot(x_t, self.W_xh) + T.dot(h_prev, self.W_hh) + self.b_h)
        z_t = self.reparameterize(T.dot(h_t, self.W_mu), T.dot(h_t, self.W_ls))
        kl_t = -0.5 * T.sum(1 + T.dot(h_t, self.W_ls) - T.dot(h_t, self.W_mu) ** 2 - T.exp(T.dot(h_t, self.W_ls)))
        x_hat = T.dot(z_t, self.W_zx)
        return h_t, kl_t, x_hat

    def loss(self, x_seq):
        [hs, kls, recon], updates = pytensor.scan(
            fn=self.recurrence,
            sequences=[x_seq],
            outputs_info=[T.zeros(self.h_shape, dtype="float64"), None, None],
        )
        return kls.sum() + ((recon - x_seq) ** 2).sum()


model = VariationalRNN(batch_size=2, n_in=3, n_hidden=4, n_latent=2)
data = T.as_tensor_variable(np.random.RandomState(7).normal(size=(5, 2, 3)))
loss = model.loss(data)
print("loss", pytensor.function([], loss)())
params = [model.W_xh, model.W_hh, model.b_h, model.W_mu, model.W_ls, model.W_zx]
grads = pytensor.grad(loss, params)
print("grads", [float(abs(g).sum()) for g in pytensor.function([], grads)()])
