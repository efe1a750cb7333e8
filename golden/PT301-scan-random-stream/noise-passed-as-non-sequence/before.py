import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.tensor.random.utils import RandomStream

srng = RandomStream(seed=3)
W = pytensor.shared(np.eye(4) * 0.5, name="W")
xs = pt.tensor3("xs")


def step(x_t, h, offset):
    return pt.tanh(pt.dot(h, W) + x_t + offset)


# One perturbation shared by every step (intended: a per-sequence offset, not per-step noise).
offset = srng.normal(size=(2, 4))
hs, _ = pytensor.scan(step, sequences=[xs], outputs_info=[pt.zeros((2, 4))], non_sequences=[offset])
g = pytensor.grad(hs.sum(), W)
