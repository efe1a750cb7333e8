import theano
import theano.tensor as T
from theano.tensor.shared_randomstreams import RandomStreams

srng = RandomStreams(seed=4)
coeffs = theano.shared([1.0, 0.5, 0.25], name="coeffs")
x = T.scalar("x")


def horner(c, acc, x_value):
    return acc * x_value + c


poly, _ = theano.scan(horner, sequences=[coeffs], outputs_info=[T.constant(0.0)], non_sequences=[x])
noisy_x = x + srng.normal(())
grad_coeffs = T.grad(poly[-1], coeffs)
