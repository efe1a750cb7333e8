"""A recurrent latent-variable model: the step calls a helper that makes the draw."""
import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.tensor.random.utils import RandomStream

SEED = 2024
N_STEPS, BATCH, N_IN, N_HID, N_LAT = 6, 3, 4, 5, 2

init = np.random.default_rng(1)
W_xh = pytensor.shared(init.normal(0, 0.5, (N_IN, N_HID)), name="W_xh")
W_hh = pytensor.shared(init.normal(0, 0.5, (N_HID, N_HID)), name="W_hh")
W_mu = pytensor.shared(init.normal(0, 0.5, (N_HID, N_LAT)), name="W_mu")
W_ls = pytensor.shared(init.normal(0, 0.5, (N_HID, N_LAT)), name="W_ls")
W_zo = pytensor.shared(init.normal(0, 0.5, (N_LAT, 1)), name="W_zo")


def sample(mu, log_sigma, dev):
    return mu + pt.exp(0.5 * log_sigma) * dev


def iter_step(x_step, dev, h):
    hidden = pt.tanh(pt.dot(x_step, W_xh) + pt.dot(h, W_hh))
    z = sample(pt.dot(hidden, W_mu), pt.dot(hidden, W_ls), dev)
    objective = pt.sum(z ** 2)
    estimate = pt.dot(z, W_zo)
    return hidden, objective, estimate


x = pt.as_tensor_variable(init.normal(size=(N_STEPS, BATCH, N_IN)))
srng = RandomStream(seed=SEED)
dev_seq = srng.normal(size=(x.shape[0], BATCH, N_LAT))
[h_n, obj_n, est_n], _ = pytensor.scan(
    fn=iter_step,
    sequences=[x, dev_seq],
    outputs_info=[pt.zeros((BATCH, N_HID), dtype="float64"), None, None],
)
cost = obj_n.sum() + est_n.sum() + h_n[-1].sum()
print("cost", pytensor.function([], cost)())
grads = pytensor.grad(cost, [W_xh, W_hh, W_mu, W_ls, W_zo])
print("grads", [g.sum() for g in pytensor.function([], grads)()])
