import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.tensor.random.utils import RandomStream

N_STEPS, BATCH, DIM = 5, 2, 3
srng = RandomStream(seed=99)
rng = np.random.default_rng(3)
A = pytensor.shared(rng.normal(0, 0.4, (DIM, DIM)), name="A")
scale = pytensor.shared(np.ones(DIM) * 0.5, name="scale")
gate = pytensor.shared(np.zeros(DIM), name="gate")


def step(u_t, s):
    eps = srng.normal(size=(BATCH, DIM))
    keep = pt.sigmoid(gate + srng.uniform(-1.0, 1.0, size=(BATCH, DIM)))
    s_new = keep * pt.tanh(pt.dot(s, A) + u_t) + scale * eps
    return s_new, (s_new ** 2).sum()


us = pt.as_tensor_variable(rng.normal(size=(N_STEPS, BATCH, DIM)))
(states, energy), updates = pytensor.scan(
    step,
    sequences=[us],
    outputs_info=[pt.zeros((BATCH, DIM)), None],
)
cost = energy.sum() + states[-1].sum()
f = pytensor.function([], [states, cost])
print(f()[1])
grads = pytensor.grad(cost, [A, scale, gate])
print([float(np.abs(v).sum()) for v in pytensor.function([], grads)()])
