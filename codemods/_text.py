"""Text filters several rules share (see ``gradfix/rule.py``: strings, then a trigger, then a
text check, all before any parse). Each must be *necessary* for what the rules look for."""

from __future__ import annotations

import re

# Something backpropagates in this file (what ``_losspath`` takes as a loss root): a
# ``.backward(...)`` call (``loss.backward()``, ``accelerator.backward(loss)``), torch.autograd's
# ``backward``/``grad`` (however imported, the file names ``autograd``), Lightning's
# ``manual_backward`` and ``training_step``, and an optimizer ``step(closure)``.
BACKPROP_STRINGS = (".backward", "autograd", "manual_backward", "training_step")
BACKPROP = BACKPROP_STRINGS + (".step(",)

_STEP_CLOSURE = re.compile(r"\.step\(\s*([A-Za-z_]\w*)\s*\)")


def backpropagates(source: str) -> bool:
    """Whether ``source`` runs a backward pass: one of :data:`BACKPROP_STRINGS`, or
    ``x.step(name)`` with a function ``name`` defined in the file (a closure)."""
    if any(literal in source for literal in BACKPROP_STRINGS):
        return True
    return any(re.search(rf"\bdef\s+{re.escape(name)}\s*\(", source) for name in set(_STEP_CLOSURE.findall(source)))
