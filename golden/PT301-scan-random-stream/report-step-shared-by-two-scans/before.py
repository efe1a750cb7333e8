import pytensor
import pytensor.tensor as pt
from pytensor.tensor.random.utils import RandomStream

srng = RandomStream(seed=0)
w = pytensor.shared(0.9, name="w")


def step(x_t, h):
    return w * h + x_t + srng.normal(size=(2,))


train_xs = pt.matrix("train_xs")
valid_xs = pt.matrix("valid_xs")
train_hs, _ = pytensor.scan(step, sequences=[train_xs], outputs_info=[pt.zeros(2)])
valid_hs, _ = pytensor.scan(step, sequences=[valid_xs], outputs_info=[pt.zeros(2)], n_steps=3)
