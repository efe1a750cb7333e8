import pytensor
import pytensor.tensor as pt
from pytensor.tensor.random.utils import RandomStream

srng = RandomStream(seed=2)
W = pytensor.shared(0.5, name="W")
xs = pt.matrix("xs")


def step(x_t, eps_t, h):
    return pt.tanh(W * x_t + h) + 0.1 * eps_t


eps = srng.normal(size=(xs.shape[0], 4))
hs, _ = pytensor.scan(step, sequences=[xs, eps], outputs_info=[pt.zeros(4)])
g = pytensor.grad(hs.sum(), W)
