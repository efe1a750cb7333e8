"""The rule API: what a rule declares, what it reports, and how its fix is described.

A rule is a subclass of :class:`Rule` in a module of ``codemods/``. Subclassing registers
it (no hand-kept list). The engine calls :meth:`Rule.detect` with the file's shared value
analysis (on CPython's ``ast``) only when the rule's ``trigger`` pattern occurs in the
file's text and its optional ``quick_check`` passes, so files that cannot contain a
finding are never parsed; LibCST is parsed only to build a fix that is applied.
"""

from __future__ import annotations

import ast
import enum
import re
import textwrap
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, ClassVar, Iterable, Union

import libcst as cst

if TYPE_CHECKING:  # pragma: no cover
    from gradfix.codemods._values import Analysis
    from gradfix.context import FileContext


class Applicability(str, enum.Enum):
    """Ruff's fix-safety levels: safe fixes apply by default, unsafe ones on request."""

    SAFE = "safe"
    UNSAFE = "unsafe"


Replacement = Union[cst.CSTNode, cst.RemovalSentinel, cst.FlattenSentinel]


@dataclass
class Fix:
    """Node replacements, keyed by the identity of nodes of the parsed module.

    A replacement may be a node, ``cst.RemoveFromParent()``, or a
    ``cst.FlattenSentinel`` of statements (to turn one statement into several).
    """

    edits: list[tuple[cst.CSTNode, Replacement]]
    applicability: Applicability = Applicability.SAFE
    description: str = ""

    def targets(self) -> list[cst.CSTNode]:
        return [node for node, _ in self.edits]


@dataclass
class LazyFix:
    """A fix decided at detection time and built with LibCST only when it is applied.

    Detection runs on CPython's ``ast``; ``build`` gets the file's LibCST context (with
    :meth:`FileContext.node_for` to find the LibCST node of an ``ast`` node) and returns the
    :class:`Fix`, or None when the edit cannot be made after all (the finding stays, unfixed).
    """

    build: Callable[["FileContext"], "Fix | None"]
    applicability: Applicability = Applicability.SAFE
    description: str = ""


@dataclass
class Finding:
    """One problem a rule found; ``node`` (an ``ast`` or a LibCST node) is where it is reported."""

    code: str
    message: str
    node: "cst.CSTNode | ast.AST"
    fix: "Fix | LazyFix | None" = None
    # Filled in by the engine.
    line: int = 0
    column: int = 0
    end_line: int = 0
    end_column: int = 0
    name: str = ""

    @property
    def fixable(self) -> bool:
        return self.fix is not None


_REGISTRY: dict[str, type["Rule"]] = {}


class Rule:
    """Base class of every rule. Subclasses set the class attributes below.

    The class docstring is the rule's explanation (``gradfix rules CODE`` prints it):
    what the bug is, why it breaks gradients, then ``Bad:`` and ``Good:`` code.
    """

    code: ClassVar[str]
    name: ClassVar[str]
    summary: ClassVar[str]
    # A regular expression searched in the raw text; no match, no parse for this rule.
    trigger: ClassVar[re.Pattern[str]]
    # False for explain-only rules (they never carry a fix).
    fixable: ClassVar[bool] = True
    # Frameworks whose code the rule reads; shown in `gradfix rules`.
    framework: ClassVar[str] = "torch"

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("code") is None:
            return  # an abstract helper base
        if not re.fullmatch(r"[A-Z]{2}\d{3}", cls.code):
            raise ValueError(f"rule code {cls.code!r} must look like GF101")
        other = _REGISTRY.get(cls.code)
        if other is not None and other.__qualname__ != cls.__qualname__:
            raise ValueError(f"rule code {cls.code} used by {other.__name__} and {cls.__name__}")
        _REGISTRY[cls.code] = cls

    def detect(self, analysis: "Analysis") -> Iterable[Finding]:
        """Find problems on the file's ``ast`` and its shared value analysis.

        Findings are reported at ``ast`` nodes and carry :class:`LazyFix` fixes, built with
        LibCST only when they are applied.
        """
        raise NotImplementedError

    # Optional second filter, after `trigger`: a cheap look at the file's `ast` tree before
    # the value analysis is built. Returning False means "nothing here" for this rule.
    quick_check: ClassVar[object] = None  # a staticmethod (tree: ast.Module) -> bool

    # Helpers for subclasses.
    def finding(self, node: "cst.CSTNode | ast.AST", message: str, fix: "Fix | LazyFix | None" = None) -> Finding:
        return Finding(code=self.code, message=message, node=node, fix=fix, name=self.name)

    @classmethod
    def explanation(cls) -> str:
        return textwrap.dedent(cls.__doc__ or "").strip()


def all_rules() -> dict[str, type[Rule]]:
    """Every registered rule, by code, in code order."""
    import gradfix.codemods  # noqa: F401  (importing the package registers its rules)

    return dict(sorted(_REGISTRY.items()))


def select_rules(select: Iterable[str] | None, ignore: Iterable[str] | None) -> list[type[Rule]]:
    """Rules whose code matches a selected prefix (all if none) and no ignored prefix.

    ``ALL`` selects every rule. Unknown prefixes raise ValueError so typos are not silent.
    """
    rules = all_rules()
    select = [s.strip().upper() for s in (select or ["ALL"]) if s.strip()]
    ignore = [s.strip().upper() for s in (ignore or []) if s.strip()]
    for prefix in [*select, *ignore]:
        if prefix != "ALL" and not any(code.startswith(prefix) for code in rules):
            raise ValueError(f"unknown rule code or prefix: {prefix}")

    def matches(code: str, prefixes: list[str]) -> bool:
        return any(p == "ALL" or code.startswith(p) for p in prefixes)

    return [r for code, r in rules.items() if matches(code, select) and not matches(code, ignore)]
