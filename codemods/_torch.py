"""What torch's functions, tensor methods and classes do to a value: tables for the value analysis.

Each table answers one question the analysis asks about a call it cannot look into: does
the result carry the inputs' graph, is it a tensor, a Python number, a module. Names are
the last part of the qualified name (``torch.nn.functional.relu`` -> ``relu``) unless the
table says otherwise.
"""

from __future__ import annotations

# torch functions that make a new tensor from sizes or data: no graph, unless requires_grad=True.
CREATORS = {
    "zeros", "ones", "empty", "full", "rand", "randn", "randint", "randperm", "arange", "linspace",
    "logspace", "eye", "zeros_like", "ones_like", "empty_like", "full_like", "rand_like", "randn_like",
    "randint_like", "empty_strided", "scalar_tensor", "tril_indices", "triu_indices", "normal_",
    "Generator",
}
# Constructors that copy the *values* of their data out of the graph.
COPYING_CONSTRUCTORS = {
    "tensor", "Tensor", "FloatTensor", "DoubleTensor", "HalfTensor", "BFloat16Tensor", "LongTensor",
    "IntTensor", "BoolTensor", "ByteTensor", "ShortTensor", "CharTensor", "from_numpy", "asarray",
    "frombuffer",
}
# torch functions whose result has no gradient path to their inputs.
NON_DIFFERENTIABLE = {
    "argmax", "argmin", "argsort", "argwhere", "nonzero", "eq", "ne", "lt", "le", "gt", "ge",
    "isnan", "isinf", "isfinite", "isclose", "logical_and", "logical_or", "logical_not", "logical_xor",
    "bincount", "bucketize", "searchsorted", "multinomial", "bernoulli", "poisson", "count_nonzero",
    "randint_like", "unique", "unique_consecutive", "histc", "one_hot",
}
# torch functions returning Python values (numbers, bools, dtypes...) rather than tensors.
PYTHON_RESULT = {
    "numel", "is_tensor", "is_floating_point", "is_complex", "equal", "allclose", "is_grad_enabled",
    "is_inference_mode_enabled", "get_default_dtype", "manual_seed", "seed", "initial_seed",
    "broadcast_shapes", "Size", "finfo", "iinfo", "device", "save", "set_grad_enabled_", "use_deterministic_algorithms",
}
GRAD_DISABLING = {"torch.no_grad", "torch.inference_mode"}

# Tensor methods whose result has no graph (and what it is).
CUT_METHODS = {
    "detach": "tensor", "detach_": "tensor", "item": "number", "tolist": "list", "numpy": "ndarray",
}
NON_DIFFERENTIABLE_METHODS = {
    "argmax", "argmin", "argsort", "nonzero", "long", "int", "bool", "byte", "short", "char",
    "eq", "ne", "lt", "le", "gt", "ge", "isnan", "isinf", "isfinite", "all", "any", "bincount",
    "count_nonzero", "new_zeros", "new_ones", "new_empty", "new_full", "new_tensor", "unique",
    "sign", "eq_", "ne_", "logical_not", "logical_and", "logical_or",
}
PYTHON_RESULT_METHODS = {
    "size": "size", "dim": "number", "ndimension": "number", "numel": "number", "nelement": "number",
    "element_size": "number", "get_device": "number", "data_ptr": "number", "stride": "size",
    "storage_offset": "number", "is_contiguous": "bool", "is_floating_point": "bool",
    "is_complex": "bool", "equal": "bool", "allclose": "bool", "__len__": "number",
    "is_pinned": "bool", "is_shared": "bool", "dtype": "dtype",
}
INTEGER_DTYPES = {
    "long", "int", "int64", "int32", "int16", "int8", "uint8", "uint16", "uint32", "uint64", "bool",
    "short", "LongTensor", "IntTensor", "BoolTensor", "ByteTensor", "ShortTensor", "CharTensor",
}
# Tensor attributes that are not the tensor's value.
NON_VALUE_ATTRIBUTES = {
    "shape": "size", "dtype": "dtype", "device": "device", "ndim": "number", "requires_grad": "bool",
    "is_leaf": "bool", "is_cuda": "bool", "layout": "unknown", "names": "unknown", "itemsize": "number",
    "nbytes": "number", "grad_fn": "unknown", "is_sparse": "bool", "is_quantized": "bool",
}
# Tensor attributes that are the same values (a view): they keep the graph.
VIEW_ATTRIBUTES = {"T", "mT", "H", "mH", "real", "imag"}
# Reductions (no dim argument: a 0-d result).
REDUCTIONS = {"sum", "mean", "prod", "norm", "std", "var", "logsumexp", "amax", "amin", "median", "max", "min", "nansum", "nanmean"}
# Elementwise functions and methods: the result has the input's shape.
ELEMENTWISE = {
    "exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "sigmoid", "tanh", "relu", "abs", "sin", "cos",
    "softplus", "neg", "square", "clamp", "clip", "pow", "mul", "div", "add", "sub", "erf", "gelu",
    "silu", "elu", "leaky_relu", "float", "double", "half", "bfloat16", "clone", "to", "contiguous",
    "cpu", "cuda", "exp2", "log2", "log10", "reciprocal", "sign", "floor", "ceil", "round", "tan",
    "atan", "asin", "acos", "sinh", "cosh", "asinh", "acosh", "atanh", "trunc", "frac", "lgamma",
    "digamma", "logit", "requires_grad_", "type_as", "mish", "hardtanh", "softsign", "tanhshrink",
    "sigmoid_", "relu_", "exp_", "mul_", "add_", "sub_", "div_", "clamp_", "neg_", "abs_", "sqrt_",
}

# torch.nn.functional losses (a 0-d result unless reduction="none").
FUNCTIONAL_LOSSES = {
    "cross_entropy", "nll_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div",
    "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "cosine_embedding_loss", "margin_ranking_loss",
    "triplet_margin_loss", "poisson_nll_loss", "gaussian_nll_loss", "soft_margin_loss",
    "multilabel_soft_margin_loss", "hinge_embedding_loss", "multi_margin_loss",
}

# nn modules without parameters: their output carries a graph only if their input does.
PARAMETER_FREE_MODULES = {
    "ReLU", "ReLU6", "LeakyReLU", "ELU", "SELU", "CELU", "GELU", "SiLU", "Mish", "Sigmoid", "Tanh",
    "Softmax", "LogSoftmax", "Softplus", "Softsign", "Hardtanh", "Hardswish", "Hardsigmoid",
    "Tanhshrink", "Threshold", "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
    "Identity", "Flatten", "Unflatten", "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d",
    "AvgPool2d", "AvgPool3d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d",
    "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d", "Upsample", "PixelShuffle",
    "PixelUnshuffle", "ZeroPad2d", "ConstantPad1d", "ConstantPad2d", "ReflectionPad2d",
    "ReplicationPad2d", "MSELoss", "L1Loss", "CrossEntropyLoss", "NLLLoss", "BCELoss",
    "BCEWithLogitsLoss", "SmoothL1Loss", "HuberLoss", "KLDivLoss", "CosineSimilarity",
    "PairwiseDistance", "TripletMarginLoss", "MarginRankingLoss", "CTCLoss", "GaussianNLLLoss",
    "PoissonNLLLoss", "SoftMarginLoss", "MultiLabelSoftMarginLoss", "HingeEmbeddingLoss",
}
# nn modules whose call returns a tuple (output, state).
TUPLE_OUTPUT_MODULES = {"RNN", "LSTM", "GRU", "MultiheadAttention"}
# nn container modules (not tensors when indexed or iterated: modules).
MODULE_CONTAINERS = {"ModuleList", "ModuleDict", "Sequential"}
PARAMETER_CONTAINERS = {"ParameterList", "ParameterDict"}
# Module methods that return the module itself.
MODULE_SELF_METHODS = {
    "to", "cuda", "cpu", "train", "eval", "float", "double", "half", "bfloat16", "requires_grad_",
    "type", "share_memory", "apply", "to_empty",
}

# Distribution methods that draw without a path to the parameters.
NON_REPARAMETERISED_DRAWS = {"sample", "sample_n"}

# Namespaces whose functions return tensors (unless a table above says otherwise).
TENSOR_NAMESPACES = {"torch", "torch.nn.functional", "torch.linalg", "torch.fft", "torch.special", "torch.nn.init"}
# torch functions that return a tuple of tensors.
TUPLE_RESULTS = {
    "meshgrid", "broadcast_tensors", "svd", "lu", "qr", "eig", "eigh", "slogdet", "histogram",
    "aminmax", "frexp", "lstsq", "std_mean", "var_mean", "svd_lowrank", "pca_lowrank", "atleast_1d",
}
# torch.distributions classes with `has_rsample = True` whose `sample()` and `rsample()` are
# bitwise equal on CPU under the same generator state (checked on torch 2.13: float32/float64,
# sample_shape, broadcasting). The discrete ones (Bernoulli, Categorical, Poisson) have none.
RSAMPLE_DISTRIBUTIONS = frozenset({
    "Normal", "LogNormal", "Laplace", "Uniform", "Exponential", "Gamma", "Beta", "Dirichlet",
    "StudentT", "MultivariateNormal", "LowRankMultivariateNormal", "RelaxedBernoulli",
    "RelaxedOneHotCategorical", "Cauchy", "Gumbel", "HalfNormal", "HalfCauchy", "Chi2",
    "FisherSnedecor", "Kumaraswamy", "Pareto", "Weibull", "ContinuousBernoulli",
    "LogisticNormal", "InverseGamma",
})
# Wrappers whose rsample exists exactly when their base distribution's does.
DISTRIBUTION_WRAPPERS = frozenset({"Independent"})
# Distributions over discrete values: no `rsample`, and a `sample()` that is an index or a count.
DISCRETE_DISTRIBUTIONS = frozenset({
    "Bernoulli", "Binomial", "Categorical", "Geometric", "Multinomial", "NegativeBinomial",
    "OneHotCategorical", "Poisson",
})

# What an op saves for its backward pass: an in-place write to a saved tensor makes backward
# raise "modified by an inplace operation" (each checked on torch 2.13). Ops that save
# nothing that matters (add, sub, cat, stack, views, sum, mean, dropout, BatchNorm's output)
# are in none of these tables.
# Functions and tensor methods whose backward reads their own result.
SAVES_OUTPUT = {
    "sigmoid", "tanh", "exp", "exp2", "expm1", "sqrt", "rsqrt", "reciprocal", "relu", "softmax",
    "log_softmax", "sigmoid_", "tanh_", "exp_", "sqrt_", "rsqrt_", "relu_", "elu_", "leaky_relu_",
    "selu_", "celu_",
}
# Activations that save their result when run in place (relu_, elu_); hardtanh_, relu6,
# silu_, threshold_ and dropout run in place save nothing of it.
INPLACE_SAVES_OUTPUT = {"relu", "leaky_relu", "elu", "selu", "celu", "ReLU", "LeakyReLU", "ELU", "SELU", "CELU"}
SAVES_OUTPUT_MODULES = {"ReLU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Softmax2d"}
# Functions and tensor methods whose backward reads their (first) input.
SAVES_INPUT = {
    "log", "log1p", "log2", "log10", "norm", "layer_norm", "batch_norm", "group_norm", "instance_norm",
    "leaky_relu", "elu", "celu", "selu", "gelu", "silu", "softplus", "mish", "pow", "square",
    "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
    "linear", "bilinear", "normalize", "sin", "cos", "atan", "asin", "acos", "erf", "logsigmoid",
}
# Products: each operand is saved for the other's gradient (when the other requires grad).
SAVES_INPUT_FOR_OTHER = {"mul", "matmul", "mm", "bmm", "mv", "dot", "outer", "einsum", "div", "true_divide"}
# nn modules whose forward saves their input.
SAVES_INPUT_MODULES = {
    "Linear", "Bilinear", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
    "ConvTranspose3d", "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm", "LayerNorm",
    "GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "LeakyReLU", "ELU", "CELU",
    "SELU", "GELU", "SiLU", "Softplus", "Mish", "PReLU", "LSTM", "GRU", "RNN", "LSTMCell", "GRUCell",
    "RNNCell", "MultiheadAttention",
}
# nn activations (and dropouts) with an ``inplace`` argument: its position in the constructor,
# and in the torch.nn.functional form (after the input).
INPLACE_MODULE_ARGUMENT = {
    "ReLU": 0, "ReLU6": 0, "SELU": 0, "SiLU": 0, "Mish": 0, "Hardswish": 0, "Hardsigmoid": 0,
    "LeakyReLU": 1, "ELU": 1, "CELU": 1, "Dropout": 1, "Dropout1d": 1, "Dropout2d": 1,
    "Dropout3d": 1, "AlphaDropout": 1, "Hardtanh": 2, "Threshold": 2,
}
INPLACE_FUNCTION_ARGUMENT = {
    "relu": 1, "relu6": 1, "selu": 1, "silu": 1, "mish": 1, "hardswish": 1, "hardsigmoid": 1,
    "leaky_relu": 2, "elu": 2, "celu": 2, "hardtanh": 3, "threshold": 3, "dropout": 3,
    "dropout1d": 3, "dropout2d": 3, "dropout3d": 3, "alpha_dropout": 3,
}
# In-place activation functions (torch.relu_, F.elu_ ...): always in place on their input.
INPLACE_FUNCTIONS = {"relu_", "leaky_relu_", "elu_", "selu_", "celu_", "hardtanh_", "threshold_", "rrelu_", "sigmoid_", "tanh_"}
