import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.tensor.random.utils import RandomStream

srng = RandomStream(seed=0)
init_rng = np.random.default_rng(0)
W = pytensor.shared(init_rng.normal(size=(3, 3)), name="W")


def step(h):
    jitter = init_rng.normal(size=(3,))  # a numpy constant baked into the graph
    return pt.tanh(pt.dot(h, W) + jitter)


hs, _ = pytensor.scan(step, outputs_info=[pt.ones(3)], n_steps=4)
dropout = srng.binomial(1, 0.5, size=(3,))
loss = (hs[-1] * dropout).sum()
