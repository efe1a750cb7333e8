import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.tensor.random.utils import RandomStream

srng = RandomStream(seed=10)
mu = pytensor.shared(np.zeros(3), name="mu")
log_sigma = pytensor.shared(np.zeros(3), name="log_sigma")

eps = srng.normal(size=(3,))
z = mu + pt.exp(log_sigma) * eps
cumulative, _ = pytensor.scan(lambda z_t, acc: acc + z_t, sequences=[z], outputs_info=[pt.constant(0.0, dtype="float64")])
loss = cumulative[-1] ** 2
grads = pytensor.grad(loss, [mu, log_sigma])
