"""Properties every rule must keep on any input, and the programs they are checked on.

Shared by ``test_rule_properties.py`` (a bounded run in the default suite) and
``benchmarks/fuzz_rules.py`` (a long run). Everything goes through the public engine API
(``check_source`` / ``fix_source`` with every rule and unsafe fixes on), so it keeps working
whatever the rules look like inside.

The properties, for one source text:

- no rule crashes (``InputError`` is the only exception allowed, for input LibCST rejects);
- every rewrite compiles with CPython;
- ``apply`` is idempotent: the rewrite, checked again, changes nothing;
- a source with no finding comes back byte-identical;
- ``fix_source`` returns exactly what ``check_source`` rewrote (checked when it rewrote).

The programs: hypothesmith's generated programs (alone, and spliced after a golden case so
the rules have something to look at), and mutations of the golden cases: variables
renamed, extra statements inserted, code wrapped in a function, class, loop or ``with``,
and ``torch`` imported under another name.
"""

from __future__ import annotations

import functools
import keyword
from collections import Counter
from dataclasses import dataclass

import libcst as cst
from hypothesis import strategies as st

from gradfix.engine import InputError, Settings, check_source, fix_source
from golden_cases import load_cases

SETTINGS = Settings.from_codes(unsafe_fixes=True)
GOLDEN_SOURCES = [case.before for case in load_cases()]


@dataclass
class Violation:
    kind: str  # crash | unparsable-fix | not-idempotent | changed-without-finding | fix_source-differs
    detail: str
    source: str


def check_properties(source: str, path: str = "fuzzed.py", stats: Counter | None = None) -> Violation | None:
    """The first property ``source`` breaks, or None. ``stats`` counts what the programs held."""
    stats = stats if stats is not None else Counter()
    try:
        fixed = check_source(source, path, SETTINGS, fix=True)
    except InputError:
        stats["not parsed by LibCST"] += 1
        return None  # a file LibCST cannot parse is reported, not a crash
    except Exception as exc:  # noqa: BLE001 - any other exception is the bug we look for
        return Violation("crash", "apply: %s: %s" % (type(exc).__name__, exc), source)
    stats["with findings"] += bool(fixed.diagnostics or fixed.fixed)
    stats["rewritten"] += fixed.new_source is not None
    if not (fixed.diagnostics or fixed.fixed) and fixed.new_source is not None:
        return Violation("changed-without-finding", "no finding, yet the source was rewritten", source)
    if fixed.new_source is None:
        return None
    try:  # the verifier's entry point must write exactly what apply writes
        via_fix_source = fix_source(source, path, unsafe_fixes=True)
    except Exception as exc:  # noqa: BLE001
        return Violation("crash", "fix_source: %s: %s" % (type(exc).__name__, exc), source)
    if via_fix_source != fixed.new_source:
        return Violation("fix_source-differs", "fix_source and check_source(fix=True) disagree", source)
    new = fixed.new_source
    try:
        compile(new, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        if _compiles(source):  # LibCST accepts some programs CPython rejects (`return` at top level)
            return Violation("unparsable-fix", "the rewrite does not compile: %s" % exc, source)
    try:
        again = check_source(new, path, SETTINGS, fix=True)
    except Exception as exc:  # noqa: BLE001
        return Violation("crash", "apply on the rewrite: %s: %s" % (type(exc).__name__, exc), source)
    if again.new_source is not None:
        codes = ", ".join(sorted({d.code for d in again.fixed}))
        return Violation("not-idempotent", "a second apply changed the rewrite again (%s)" % codes, source)
    return None


def _compiles(source: str) -> bool:
    try:
        compile(source, "<original>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


# Golden-case mutations ---------------------------------------------------------------------
_IDENT = st.from_regex(r"\A[a-z][a-z0-9_]{0,6}\Z", fullmatch=True).filter(lambda s: not keyword.iskeyword(s))


class _Bindings(cst.CSTVisitor):
    """Names the module binds itself (assignment targets, parameters, loop variables)."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._targets(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._targets(node.target)

    def visit_For(self, node: cst.For) -> None:
        self._targets(node.target)

    def visit_Param(self, node: cst.Param) -> None:
        if node.name.value != "self":
            self.names.add(node.name.value)

    def _targets(self, target: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name):
            self.names.add(target.value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._targets(element.value)


class _Rename(cst.CSTTransformer):
    """Renames a variable everywhere it is a plain name (not an attribute, keyword or import)."""

    def __init__(self, old: str, new: str) -> None:
        self.old, self.new = old, new
        self.keep: set[int] = set()

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self.keep.add(id(node.attr))

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None:
            self.keep.add(id(node.keyword))

    def visit_ImportAlias(self, node: cst.ImportAlias) -> bool:
        return False

    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.Name:
        if original.value == self.old and id(original) not in self.keep:
            return updated.with_changes(value=self.new)
        return updated


class _AliasTorch(cst.CSTTransformer):
    """``import torch`` -> ``import torch as ALIAS``; every ``torch.`` use follows."""

    def __init__(self, alias: str) -> None:
        self.alias = alias
        self.in_import = 0

    def visit_Import(self, node: cst.Import) -> None:
        self.in_import += 1

    def leave_Import(self, original: cst.Import, updated: cst.Import) -> cst.Import:
        self.in_import -= 1
        names = [
            alias.with_changes(asname=cst.AsName(name=cst.Name(self.alias)))
            if isinstance(alias.name, cst.Name) and alias.name.value == "torch" and alias.asname is None
            else alias
            for alias in updated.names
        ]
        return updated.with_changes(names=names)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.Name:
        if original.value == "torch" and not self.in_import:
            return updated.with_changes(value=self.alias)
        return updated


class _Outer(cst.CSTVisitor):
    """Finds whether names are bound anywhere, so a rename or alias does not collide."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_Name(self, node: cst.Name) -> None:
        self.names.add(node.value)


def _all_names(module: cst.Module) -> set[str]:
    finder = _Outer()
    module.visit(finder)
    return finder.names


def _bodies(module: cst.Module) -> list[cst.CSTNode]:
    """Every statement list in the module (the module and each indented block)."""
    found: list[cst.CSTNode] = [module]

    class Blocks(cst.CSTVisitor):
        def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
            found.append(node)

    module.visit(Blocks())
    return found


class _Insert(cst.CSTTransformer):
    def __init__(self, target: cst.CSTNode, index: int, statement: cst.BaseStatement) -> None:
        self.target, self.index, self.statement = target, index, statement

    def _with(self, original, updated):
        if original is not self.target:
            return updated
        body = list(updated.body)
        body.insert(self.index % (len(body) + 1), self.statement)
        return updated.with_changes(body=body)

    def leave_Module(self, original, updated):
        return self._with(original, updated)

    def leave_IndentedBlock(self, original, updated):
        return self._with(original, updated)


EXTRA_STATEMENTS = (
    "pass", "_fz = 0", "print('fuzz')", "x = None",
    "import torch", "assert True", "y = torch.zeros(2)" , "w = torch.ones(3, requires_grad=True)",
    "loss = w.sum()", "out = out", "model = model", "if False:\n    raise SystemExit(0)",
    "for _k in range(0):\n    pass", "global_value = [1, 2, 3]", "x[0] = x[0] + 1",
)

WRAPPERS = (
    "def wrapped_{n}():\n{body}\n",
    "class Wrapped{n}:\n{body}\n",
    "for _loop_{n} in range(1):\n{body}\n",
    "while True:\n{body}\n    break\n",
    "if __name__ == '__main__':\n{body}\n",
    "with open(__file__) as _f{n}:\n{body}\n",
    "try:\n{body}\nexcept Exception:\n    raise\n",
)


def _indent(code: str) -> str:
    return "".join("    " + line if line.strip() else line for line in code.splitlines(keepends=True)) or "    pass\n"


def _split_imports(code: str) -> tuple[str, str]:
    """(the leading import lines, the rest): wrapping keeps ``from __future__`` first."""
    lines = code.splitlines(keepends=True)
    head = 0
    while head < len(lines) and (lines[head].startswith(("import ", "from ", "#")) or not lines[head].strip()):
        head += 1
    return "".join(lines[:head]), "".join(lines[head:])


@st.composite
def mutated_golden(draw) -> str:
    """A golden case's ``before.py`` after one to four random mutations."""
    source = draw(st.sampled_from(GOLDEN_SOURCES))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(("rename", "insert", "wrap", "wrap-all", "alias")))
        try:
            module = cst.parse_module(source)
        except cst.ParserSyntaxError:
            break
        if kind == "rename":
            finder = _Bindings()
            module.visit(finder)
            if not finder.names:
                continue
            old = draw(st.sampled_from(sorted(finder.names)))
            taken = _all_names(module)
            new = draw(_IDENT.filter(lambda s: s not in taken))
            source = module.visit(_Rename(old, new)).code
        elif kind == "alias":
            if "torch" not in _all_names(module):
                continue
            taken = _all_names(module)
            alias = draw(st.sampled_from(("T", "th", "pt", "torch_", "tc")).filter(lambda s: s not in taken))
            source = module.visit(_AliasTorch(alias)).code
        elif kind == "insert":
            bodies = _bodies(module)
            target = draw(st.sampled_from(range(len(bodies))))
            statement = cst.parse_statement(draw(st.sampled_from(EXTRA_STATEMENTS)) + "\n")
            source = module.visit(_Insert(bodies[target], draw(st.integers(0, 50)), statement)).code
        else:
            template = draw(st.sampled_from(WRAPPERS))
            head, rest = _split_imports(source)
            if kind == "wrap":  # only one top-level statement of the rest
                statements = list(cst.parse_module(rest).body) if rest.strip() else []
                if not statements:
                    continue
                index = draw(st.integers(0, len(statements) - 1))
                before = cst.Module(body=statements[:index]).code
                one = cst.Module(body=[statements[index]]).code
                after = cst.Module(body=statements[index + 1:]).code
                source = head + before + template.format(n=index, body=_indent(one).rstrip("\n")) + after
            else:
                source = head + template.format(n=0, body=_indent(rest).rstrip("\n"))
    return source


@functools.lru_cache(maxsize=None)
def _hypothesmith_programs(kind: str) -> st.SearchStrategy[str]:
    """Built once: the grammar strategy compiles a parser first (seconds)."""
    import hypothesmith

    return hypothesmith.from_grammar() if kind == "grammar" else hypothesmith.from_node()


@st.composite
def generated_programs(draw, kind: str = "grammar") -> str:
    """hypothesmith programs: alone, or around a golden case so the rules have work to do.

    ``kind``: "grammar" (from Python's grammar: cheap to draw, slow to set up) or "node"
    (from LibCST's node types: quick to set up, three times slower to draw).
    """
    program = draw(_hypothesmith_programs(kind))
    how = draw(st.sampled_from(("alone", "after-golden", "before-golden")))
    if how == "alone":
        return program
    golden = draw(st.sampled_from(GOLDEN_SOURCES))
    if not program.endswith("\n"):
        program += "\n"
    return golden + program if how == "after-golden" else program + golden
