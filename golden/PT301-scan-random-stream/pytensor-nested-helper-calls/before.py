"""A noisy dynamical system: each step propagates the state with process noise, then
observes it with measurement noise; the two helpers are called nested in one expression."""
import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.tensor.random.utils import RandomStream

BATCH, DIM = 3, 2
srng = RandomStream(seed=404)
init = np.random.default_rng(4)
A = pytensor.shared(init.normal(0, 0.5, (DIM, DIM)), name="A")
log_q = pytensor.shared(np.full(DIM, -1.0), name="log_q")
log_r = pytensor.shared(np.full(DIM, -2.0), name="log_r")


def propagate(y_prev, u_t):
    process_noise = srng.normal(size=(BATCH, DIM))
    return pt.tanh(pt.dot(y_prev, A) + u_t) + pt.exp(log_q) * process_noise


def observe(state):
    measurement_noise = srng.normal(size=(BATCH, DIM))
    return state + pt.exp(log_r) * measurement_noise


def step(u_t, y_prev):
    return observe(propagate(y_prev, u_t))


controls = pt.as_tensor_variable(init.normal(size=(8, BATCH, DIM)))
ys, _ = pytensor.scan(step, sequences=[controls], outputs_info=[pt.zeros((BATCH, DIM))])
cost = (ys ** 2).mean()
print("cost", pytensor.function([], cost)())
grads = pytensor.grad(cost, [A, log_q, log_r])
print("grads", [float(np.abs(g).sum()) for g in pytensor.function([], grads)()])
