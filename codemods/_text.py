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
# A trigger for rules whose strings and text check say everything the text can (it matches at once).
ANYTHING = re.compile("")

_STEP_CLOSURE = re.compile(r"\.step\(\s*([^\W\d]\w*)\s*[,)]")  # step(closure) or step(closure, ...)
_BACKWARD = re.compile(r"\.backward[\s\\]*\(")
# Ways of reaching torch.autograd's grad/backward: through the module's name, an alias of the
# module (anything may follow it), or an `autograd import` whose names are read next.
_AUTOGRAD = re.compile(r"autograd(?:\s*\.\s*(?:grad|backward)\b|\s+as\s|\s+import\s*(?P<paren>\()?)")
_LOGICAL_LINE = re.compile(r"(?:[^\n\\]|\\[\s\S])*")  # to the end of the line, over backslash continuations
_AUTOGRAD_NAME = re.compile(r"\b(?:grad|backward)\b")
_TRAINING_STEP = re.compile(r"def\s+training_step\b")
_DEFINED = re.compile(r"def\s+([^\W\d]\w*)")  # (no leading \b: `re` then skips ahead to "def")


# (source, answers) for the last source asked about: several rules ask of one file in a row.
_last: list = [(None, {})]


def _memoized(function):
    def memoized(source: str) -> bool:
        last = _last[0]
        if last[0] is not source:
            last = _last[0] = (source, {})
        answers = last[1]
        found = answers.get(function)
        if found is None:
            found = answers[function] = function(source)
        return found

    memoized.__name__, memoized.__doc__ = function.__name__, function.__doc__
    return memoized


@_memoized
def calls_backward(source: str) -> bool:
    """Whether ``source`` may hold a backward call (``_flow_ast.is_backward_call``):
    ``x.backward(``, or torch.autograd's ``grad``/``backward`` reached by some spelling."""
    if ".backward" in source and _BACKWARD.search(source):
        return True
    if "autograd" not in source:
        return False
    for match in _AUTOGRAD.finditer(source):
        if "import" not in match.group(0):
            return True
        start = match.end()
        if match.group("paren"):
            end = source.find(")", start)
            names = source[start:] if end < 0 else source[start:end]
        else:
            names = _LOGICAL_LINE.match(source, start).group(0)  # type: ignore[union-attr]
        if _AUTOGRAD_NAME.search(names):
            return True
    return False


_GRAD, _OPTIM = re.compile(r"\.grad\b"), re.compile(r"optim\b")  # (one literal-led pattern each: fast)


@_memoized
def names_grad_or_optim(source: str) -> bool:
    """Whether ``source`` spells ``.grad`` or ``optim`` as a word's end (a leaf use,
    ``_uses.used_as_leaf``: a ``.grad`` read, or a ``torch.optim`` optimizer). GF104 and GF105 both ask."""
    return bool((".grad" in source and _GRAD.search(source)) or ("optim" in source and _OPTIM.search(source)))


@_memoized
def backpropagates(source: str) -> bool:
    """Whether ``source`` may have a loss root of ``_losspath``: a backward call
    (:func:`calls_backward`), ``manual_backward``, a ``def training_step``, or ``x.step(name)``
    with a function ``name`` defined in the file (a closure)."""
    return _backpropagates(source)


def _backpropagates(source: str) -> bool:
    if calls_backward(source) or "manual_backward" in source:
        return True
    if "training_step" in source and _TRAINING_STEP.search(source):
        return True
    if ".step(" not in source:
        return False
    closures = set(_STEP_CLOSURE.findall(source))
    return bool(closures) and not closures.isdisjoint(_DEFINED.findall(source))
