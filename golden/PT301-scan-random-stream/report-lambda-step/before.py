import theano
import theano.tensor as T
from theano.sandbox.rng_mrg import MRG_RandomStreams as RandomStreams

noise = RandomStreams(seed=12)
decay = theano.shared(0.95, name="decay")
xs = T.matrix("xs")

smoothed, _ = theano.scan(
    lambda x_t, s: decay * s + (1 - decay) * (x_t + 0.01 * noise.normal(size=(4,))),
    sequences=[xs],
    outputs_info=[T.zeros((4,))],
)
cost = smoothed[-1].sum()
