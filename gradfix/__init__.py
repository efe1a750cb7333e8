"""gradfix: find, fix and prove PyTorch gradient-flow bugs."""

__version__ = "0.1.0"
