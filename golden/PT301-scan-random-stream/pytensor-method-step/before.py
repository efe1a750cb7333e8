import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.tensor.random.utils import RandomStream


class NoisyGRU:
    def __init__(self, n_in, n_hid, batch, seed=0):
        init = np.random.default_rng(seed)
        self.batch, self.n_hid = batch, n_hid
        self.W = pytensor.shared(init.normal(0, 0.3, (n_in, n_hid)), name="W")
        self.U = pytensor.shared(init.normal(0, 0.3, (n_hid, n_hid)), name="U")
        self.noise_scale = pytensor.shared(0.2, name="noise_scale")
        self.srng = RandomStream(seed=seed + 1)

    def step(self, x_t, h_prev, U):
        z = pt.sigmoid(pt.dot(x_t, self.W))
        noise = self.srng.normal(size=(self.batch, self.n_hid))
        return (1 - z) * h_prev + z * pt.tanh(pt.dot(h_prev, U) + self.noise_scale * noise)

    def forward(self, xs):
        h0 = pt.zeros((self.batch, self.n_hid))
        hs, _ = pytensor.scan(self.step, sequences=xs, outputs_info=h0, non_sequences=[self.U])
        return hs


model = NoisyGRU(n_in=2, n_hid=4, batch=3)
xs = pt.as_tensor_variable(np.random.default_rng(9).normal(size=(6, 3, 2)))
out = model.forward(xs)[-1].sum()
print(pytensor.function([], out)())
grads = pytensor.grad(out, [model.W, model.U, model.noise_scale])
print([float(np.abs(g).sum()) for g in pytensor.function([], grads)()])
