"""gradfix: find, fix and prove PyTorch gradient-flow bugs."""

from gradfix._lazy import defer_libcst

__version__ = "0.1.0"

# Detection needs only CPython's ast; LibCST is imported when a fix is built.
defer_libcst()
