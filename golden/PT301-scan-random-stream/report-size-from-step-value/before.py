import pytensor
import pytensor.tensor as pt
from pytensor.tensor.random.utils import RandomStream

srng = RandomStream(seed=1)
mu_w = pytensor.shared(0.3, name="mu_w")
xs = pt.matrix("xs")


def step(x_t, acc):
    mu = mu_w * x_t
    z = mu + srng.normal(size=mu.shape)
    return acc + z.sum()


total, _ = pytensor.scan(step, sequences=[xs], outputs_info=[pt.constant(0.0)])
