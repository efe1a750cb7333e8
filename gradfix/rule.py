r"""The rule API: what a rule declares, what it reports, and how its fix is described.

A rule is a subclass of :class:`Rule` in a module of ``codemods/``. Subclassing registers
it (no hand-kept list). The engine calls :meth:`Rule.detect` with the file's shared value
analysis (on CPython's ``ast``) only when the rule's ``trigger`` pattern occurs in the
file's text and its optional ``quick_check`` passes, so files that cannot contain a
finding are never parsed; LibCST is parsed only to build a fix that is applied.

What keeps a check fast (most files of a code base are never parsed), in the order the
engine applies it to each file:

1. ``literals``: strings of which a file must contain at least one (plain substring tests,
   each distinct string searched once per file for all selected rules together). Derived
   from ``trigger`` when not declared (:func:`required_literals`: the literal text every
   match must contain, e.g. ``{"backward", "autograd.grad"}`` for
   ``\bbackward\s*\(|autograd\.grad\s*\(``); declare them when the trigger has none
   (a case-insensitive pattern, a character class at every branch).
2. ``requires``: more groups of strings, of each of which the file must contain one (a
   conjunction: "something that backpropagates *and* a ``.detach(``"). Groups shared by
   several rules (``codemods/_text.py``) are searched once per file.
3. ``trigger``: a regular expression searched in the raw text, only when the strings are
   there. Make it as narrow as the rule allows: no match, no parse. Start it with literal
   text, not with ``\b`` or a group, when you can: Python's ``re`` then skips ahead to that
   text. Never ``\A(?=.*a)(?=.*b)``: that is what ``requires`` is for, at a fraction of the cost.
4. ``text_check(source)``: optional, a look at the text that a pattern cannot express (a
   name written in one place and bound in another), still before any parse.
5. ``quick_check(tree)``: optional, a cheap look at the ``ast`` tree before the value
   analysis is built; use :func:`gradfix.codemods._ast.nodes_of` (one shared index of the
   tree's nodes by type) rather than a new ``ast.walk``.
6. ``detect(analysis)``: linear in the file (no walk per node, no scan of a block per
   statement of that block); the analysis's queries (``nodes``, ``parent``) are indexed.

Each filter must be *necessary*: if it says no, ``detect`` finds nothing in that file.
``tests/test_prefilter.py`` checks this on every golden case and the expert programs.

A rule module must not touch LibCST at import time (see ``gradfix/_lazy.py``): build
``cst`` nodes and ``cst.CSTTransformer`` subclasses inside the functions that make fixes.
"""

from __future__ import annotations

import ast
import enum
import re
import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, ClassVar, Iterable, Union

if TYPE_CHECKING:  # pragma: no cover
    import libcst as cst

    from gradfix.codemods._values import Analysis
    from gradfix.context import FileContext


class Applicability(str, enum.Enum):
    """Ruff's fix-safety levels: safe fixes apply by default, unsafe ones on request."""

    SAFE = "safe"
    UNSAFE = "unsafe"


Replacement = Union["cst.CSTNode", "cst.RemovalSentinel", "cst.FlattenSentinel"]


@dataclass
class Fix:
    """Node replacements, keyed by the identity of nodes of the parsed module.

    A replacement may be a node, ``cst.RemoveFromParent()``, or a
    ``cst.FlattenSentinel`` of statements (to turn one statement into several).
    """

    edits: "list[tuple[cst.CSTNode, Replacement]]"
    applicability: Applicability = Applicability.SAFE
    description: str = ""

    def targets(self) -> "list[cst.CSTNode]":
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
    # Strings a file must contain one of before `trigger` is searched (None: derived from it).
    literals: ClassVar["tuple[str, ...] | None"] = None
    # More groups of strings; the file must contain one string of every group.
    requires: ClassVar["tuple[tuple[str, ...], ...]"] = ()
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
    # Optional filter after `trigger`, on the raw text, before any parse.
    text_check: ClassVar[object] = None  # a staticmethod (source: str) -> bool

    # Helpers for subclasses.
    def finding(self, node: "cst.CSTNode | ast.AST", message: str, fix: "Fix | LazyFix | None" = None) -> Finding:
        return Finding(code=self.code, message=message, node=node, fix=fix, name=self.name)

    @classmethod
    def explanation(cls) -> str:
        return textwrap.dedent(cls.__doc__ or "").strip()

    @classmethod
    def prefilter(cls) -> "tuple[str, ...] | None":
        """The strings of which a file must contain one to possibly match (None: no such set)."""
        cached = cls.__dict__.get("_prefilter", False)
        if cached is False:
            cached = tuple(cls.literals) if cls.literals is not None else required_literals(cls.trigger)
            cls._prefilter = cached
        return cached

    @classmethod
    def literal_groups(cls) -> "tuple[tuple[str, ...], ...]":
        """Every group of strings of which a file must contain one: :meth:`prefilter`'s, then
        ``requires``, each group's strings sorted (so equal groups of two rules are one key)."""
        cached = cls.__dict__.get("_literal_groups")
        if cached is None:
            first = cls.prefilter()
            groups = ([first] if first else []) + [tuple(group) for group in cls.requires]
            cached = cls._literal_groups = tuple(tuple(sorted(set(group))) for group in groups)
        return cached

    @classmethod
    def may_match(cls, source: str, present: "dict | None" = None) -> bool:
        """Whether ``source``'s text passes every filter before the parse (strings, trigger,
        text check). ``present`` memoizes the string tests across rules for one source."""
        if present is None:
            present = {}
        for group in cls.literal_groups():
            hit = present.get(group)
            if hit is None:
                hit = present[group] = any(_contains(source, literal, present) for literal in group)
            if not hit:
                return False
        if not cls.trigger.search(source):
            return False
        return cls.text_check is None or bool(cls.text_check(source))


# Strings like `.grad` and `.backward` (a dot, then no other dot) that several rules ask for:
# rarely there, so each `in` test reads the whole file. One scan for all of them (a pattern that
# starts with the dot, so `re` skips from dot to dot) reads it once: 4x cheaper for seven of them.
_DOTTED: "dict[str, object]" = {"strings": frozenset(), "pattern": None}
_DOTTED_KEY = ("\0dotted",)  # where `present` keeps what the scan found (no group is this tuple)


def _dotted_family(literal: str) -> bool:
    return len(literal) > 1 and literal[0] == "." and "." not in literal[1:]


def _contains(source: str, literal: str, present: dict) -> bool:
    """``literal in source``, memoized in ``present``; the dotted strings of every registered
    rule are looked for in one scan (:data:`_DOTTED`) the first time one of them is asked."""
    hit = present.get(literal)
    if hit is not None:
        return hit
    if not _dotted_family(literal):
        hit = present[literal] = literal in source
        return hit
    strings = _DOTTED["strings"]
    if literal not in strings:  # (a rule registered since the pattern was made)
        strings = frozenset({literal} | {s for rule in _REGISTRY.values() for group in rule.literal_groups() for s in group if _dotted_family(s)} | strings)
        # Longest first: where two of them start at one dot, the match is the longer one, and
        # every string it starts with is there too.
        alternatives = sorted(strings, key=lambda s: (-len(s), s))
        _DOTTED["pattern"] = re.compile(r"\.(?:" + "|".join(re.escape(s[1:]) for s in alternatives) + ")")
        _DOTTED["strings"] = strings
        present.pop(_DOTTED_KEY, None)
    found = present.get(_DOTTED_KEY)
    if found is None:
        found = present[_DOTTED_KEY] = set(_DOTTED["pattern"].findall(source))  # type: ignore[union-attr]
    hit = present[literal] = any(match.startswith(literal) for match in found)
    return hit


def required_literals(pattern: "re.Pattern[str]") -> "tuple[str, ...] | None":
    r"""Strings of which every match of ``pattern`` contains at least one; None if none is known.

    Read from the parsed pattern: a run of literal characters is required, a group is
    required if its content is, an alternation if every branch has a required string (the
    union), a repeat if it repeats at least once. Zero-width assertions (``\b``, ``^``) do not
    break a run. Of the candidates, the set whose shortest string is longest wins.
    """
    if pattern.flags & re.IGNORECASE:
        return None
    try:
        parsed = _sre_parser.parse(pattern.pattern, pattern.flags & ~re.UNICODE)
    except Exception:  # pragma: no cover - a pattern re compiled always parses
        return None
    found = _required(list(parsed))
    if not found:
        return None
    # A string that contains another of the set adds nothing.
    kept = sorted(found, key=len)
    kept = [s for i, s in enumerate(kept) if not any(t in s for t in kept[:i])]
    return tuple(sorted(kept))


def _required(items: list) -> "frozenset[str] | None":
    c = _sre_constants
    best: "frozenset[str] | None" = None

    def consider(candidate: "frozenset[str] | None") -> None:
        nonlocal best
        if candidate and all(candidate) and (best is None or min(map(len, candidate)) > min(map(len, best))):
            best = candidate

    run: list[str] = []
    for op, av in items:
        if op is c.LITERAL:
            run.append(chr(av))
            continue
        if op is c.AT:
            continue  # zero-width: the text on both sides is contiguous
        consider(frozenset(["".join(run)]) if run else None)
        run = []
        if op is c.SUBPATTERN:
            add_flags = av[1]
            if not add_flags & _sre_constants.SRE_FLAG_IGNORECASE:
                consider(_required(list(av[-1])))
        elif op is c.BRANCH:
            branches = [_required(list(branch)) for branch in av[1]]
            if all(branches):
                consider(frozenset().union(*branches))
        elif op in _REPEATS:
            low, _, body = av
            if low >= 1:
                consider(_required(list(body)))
    consider(frozenset(["".join(run)]) if run else None)
    return best


try:  # Python 3.11+
    from re import _constants as _sre_constants, _parser as _sre_parser  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - Python 3.10
    import sre_constants as _sre_constants  # type: ignore[no-redef]
    import sre_parse as _sre_parser  # type: ignore[no-redef]

_REPEATS = tuple(getattr(_sre_constants, n) for n in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") if hasattr(_sre_constants, n))


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
