import theano
import theano.tensor as tt
from theano.sandbox.rng_mrg import MRG_RandomStreams

mrg = MRG_RandomStreams(seed=4321)
W = theano.shared(0.1 * tt.ones((8, 8)).eval(), name="W")
xs = tt.tensor3("xs")


def dropout_step(x_t, eps, h):
    mask = eps < 0.9
    return tt.tanh(tt.dot(h * mask, W) + x_t)


eps_seq = mrg.uniform(size=(xs.shape[0], 16, 8))
hs, _ = theano.scan(dropout_step, sequences=[xs, eps_seq], outputs_info=tt.zeros((16, 8)))
cost = hs[-1].sum()
grad_W = theano.grad(cost, W)
