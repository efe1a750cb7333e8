import pytensor
import pytensor.tensor as pt
from pytensor.tensor.random.utils import RandomStream

srng = RandomStream(seed=8)


def step(x):
    """A one-off noisy transform, used outside any scan."""
    return x + srng.normal(size=(3,))


def build_model(xs, w):
    def step(x_t, h):
        return pt.tanh(w * h + x_t)

    hs, _ = pytensor.scan(step, sequences=[xs], outputs_info=[pt.zeros(3)])
    return hs


noisy_start = step(pt.zeros(3))
hs = build_model(pt.matrix("xs"), pytensor.shared(0.7, name="w"))
