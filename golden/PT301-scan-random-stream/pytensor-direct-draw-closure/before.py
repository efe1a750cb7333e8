import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor import scan
from pytensor.tensor.random.utils import RandomStream

BATCH, N_IN, N_HID = 4, 3, 5

rng = np.random.default_rng(0)
W_in = pytensor.shared(rng.normal(0, 0.3, (N_IN, N_HID)), name="W_in")
W_rec = pytensor.shared(rng.normal(0, 0.3, (N_HID, N_HID)), name="W_rec")
log_noise = pytensor.shared(np.full(N_HID, -1.0), name="log_noise")


def build(xs, seed):
    srng = RandomStream(seed=seed)

    def step(x_t, h_prev):
        pre = pt.dot(x_t, W_in) + pt.dot(h_prev, W_rec)
        eps = srng.normal(size=(BATCH, N_HID))
        return pt.tanh(pre + pt.exp(log_noise) * eps)

    hs, _ = scan(step, sequences=[xs], outputs_info=[pt.zeros((BATCH, N_HID))])
    return hs


xs = pt.as_tensor_variable(rng.normal(size=(7, BATCH, N_IN)))
hs = build(xs, seed=11)
loss = (hs ** 2).mean()
print("loss", pytensor.function([], loss)())
g = pytensor.grad(loss, [W_in, W_rec, log_noise])
print("grad norms", [float(np.abs(v).sum()) for v in pytensor.function([], g)()])
