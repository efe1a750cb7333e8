"""Simulated log-volatility paths of two assets (AR(1) with Gaussian shocks), differentiated through."""
import numpy as np
import pytensor
import pytensor.tensor as pt

N_DAYS = 30
rng = pt.random.RandomStream(seed=2718)
mu = pytensor.shared(np.array([-1.0, -0.5]), name="mu")
phi = pytensor.shared(np.array([0.9, 0.8]), name="phi")
sigma_eta = pytensor.shared(np.array([0.2, 0.3]), name="sigma_eta")


def log_vol_step(h_prev, mu, phi, sigma_eta):
    shock = rng.normal(0.0, 1.0, size=(2,))
    return mu + phi * (h_prev - mu) + sigma_eta * shock


log_vol, updates = pytensor.scan(
    fn=log_vol_step,
    outputs_info=[pt.zeros(2)],
    non_sequences=[mu, phi, sigma_eta],
    n_steps=N_DAYS,
)
mean_variance = pt.exp(log_vol).mean()
print("mean variance", pytensor.function([], mean_variance)())
grads = pytensor.grad(mean_variance, [mu, phi, sigma_eta])
print("grads", [float(np.abs(g).sum()) for g in pytensor.function([], grads)()])
