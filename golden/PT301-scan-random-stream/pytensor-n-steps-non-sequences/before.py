import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.tensor.random.utils import RandomStream

srng = RandomStream(seed=5)
drift = pytensor.shared(np.array([0.1, -0.2, 0.05]), name="drift")
vol = pytensor.shared(np.array([0.3, 0.2, 0.4]), name="vol")


def walk(x_prev, mu, sigma):
    return x_prev + mu + sigma * srng.normal(size=(3,))


path, _ = pytensor.scan(
    walk, outputs_info=[pt.zeros(3)], non_sequences=[drift, vol], n_steps=20
)
terminal = path[-1].sum()
print(pytensor.function([], terminal)())
print([float(v.sum()) for v in pytensor.function([], pytensor.grad(terminal, [drift, vol]))()])
