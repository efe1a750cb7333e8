import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.tensor.random.utils import RandomStream


class StochasticCell:
    def __init__(self, n_in, n_hid, batch):
        init = np.random.default_rng(5)
        self.batch, self.n_hid = batch, n_hid
        self.W = pytensor.shared(init.normal(0, 0.3, (n_in, n_hid)), name="W")
        self.U = pytensor.shared(init.normal(0, 0.3, (n_hid, n_hid)), name="U")
        self.log_scale = pytensor.shared(np.full(n_hid, -0.5), name="log_scale")
        self.srng = RandomStream(seed=77)

    def perturb(self, value, log_scale, eps):
        return value + pt.exp(log_scale) * eps

    def step(self, x_t, eps, h_prev):
        pre = pt.dot(x_t, self.W) + pt.dot(h_prev, self.U)
        return pt.tanh(self.perturb(value=pre, log_scale=self.log_scale, eps=eps))

    def run(self, xs):
        eps_seq = self.srng.normal(size=(xs.shape[0], self.batch, self.n_hid))
        hs, _ = pytensor.scan(
            self.step,
            sequences=[
                xs,
                eps_seq,
            ],
            outputs_info=[pt.zeros((self.batch, self.n_hid))],
        )
        return hs


cell = StochasticCell(n_in=3, n_hid=4, batch=2)
hs = cell.run(pt.as_tensor_variable(np.random.default_rng(8).normal(size=(5, 2, 3))))
cost = hs.mean()
print(pytensor.function([], cost)())
print([float(np.abs(g).sum()) for g in pytensor.function([], pytensor.grad(cost, [cell.W, cell.U, cell.log_scale]))()])
