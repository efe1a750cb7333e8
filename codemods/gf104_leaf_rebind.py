"""GF104 leaf-rebind."""

from __future__ import annotations

import ast
import re
from functools import partial

import libcst as cst

from gradfix.rule import Applicability, Fix, LazyFix, Rule

from ._ast import nodes_of, parents_of, walked
from ._quick_leaves import grad_disabled, imports_of, imports_torch, leaf_used_names, may_carry_graph, may_carry_graph_text, may_hold_parameters
from ._text import names_grad_or_optim
from ._uses import LEAF, LOAD, STORE, fresh_name, names_in, span, uses
from ._values import Analysis, dotted

_COMPOUND = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.Try, *((ast.TryStar,) if hasattr(ast, "TryStar") else ()), *((ast.Match,) if hasattr(ast, "Match") else ()))
_LOOPS = (ast.For, ast.AsyncFor, ast.While)
# How the new name describes the derived value.
_SUFFIX_BY_OPERATOR = {
    ast.Mult: "scaled", ast.Div: "scaled", ast.Add: "shifted", ast.Sub: "shifted", ast.Pow: "pow", ast.MatMult: "mm",
}
_SUFFIX_BY_METHOD = {
    "view": "view", "reshape": "reshaped", "t": "t", "transpose": "t", "permute": "permuted",
    "to": "converted", "double": "converted", "float": "converted", "half": "converted", "cuda": "converted",
    "type": "converted", "unsqueeze": "reshaped", "squeeze": "reshaped", "flatten": "flat", "clone": "copy",
}


_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'')


def _opened(line: str) -> int:
    """Brackets one line of code leaves open (its strings and comment dropped), at least 1 when
    it ends with a backslash or holds a string that goes on to the next line."""
    code = _STRING.sub("", line) if '"' in line or "'" in line else line  # (every string starts with a quote)
    code = code.split("#", 1)[0] if "#" in code else code
    opened = code.count("(") + code.count("[") + code.count("{") - code.count(")") - code.count("]") - code.count("}")
    if '"' in code or "'" in code or code.rstrip().endswith("\\"):
        return max(opened, 1)
    return opened


_OPENERS = re.compile(r"[(\[{\\\"']")  # what may continue a statement on the next line (`_opened`)
_SELF_STORE = re.compile(r"self\.(\w+)\s*=(?!=)([^\n]*)")  # (also `myself.x =`: a superset)


def _statement_from(source: str, start: int, most_lines: int = 500) -> str:
    """The text from ``start`` to the end of its statement (or more): the line, and the next
    ones while brackets opened since ``start`` are not closed or a line is continued."""
    depth, pos = 0, start
    for _ in range(most_lines):
        end = source.find("\n", pos)
        if end < 0:
            return source[start:]
        depth += _opened(source[pos:end])
        if depth <= 0:
            break
        pos = end + 1
    return source[start:end]


# Values the analysis never makes a Parameter (a literal, a container, a comparison, ...).
_NOT_PARAMETERS = (
    ast.Constant, ast.List, ast.Tuple, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp, ast.GeneratorExp,
    ast.JoinedStr, ast.Compare, ast.Lambda,
)


# What a library call makes a leaf or a Parameter (else `_library_call` gives a computed value).
_LEAF_LIBRARY_CALLS = ("torch.nn.Parameter", "torch.autograd.Variable")


def _never_a_parameter(tree: ast.Module, value: "ast.expr | None") -> bool:
    """``value`` is never a leaf Parameter in the analysis: a literal or a container, or a call
    of an imported function or class other than ``nn.Parameter``/``Variable`` without a
    ``requires_grad=`` (``nn.Linear(...)`` is a module), or of a class of the file."""
    if value is None or isinstance(value, _NOT_PARAMETERS):
        return True
    if not isinstance(value, ast.Call) or any(k.arg in ("requires_grad", None) for k in value.keywords):
        return False
    imports = imports_of(tree)
    name = dotted(value.func)
    if name is None:
        return False
    head = name.split(".")[0]
    if head in imports.aliases:
        return imports.qualify(value.func) not in _LEAF_LIBRARY_CALLS
    return "." not in name and _local_classes(tree).get(name, False)


def _local_classes(tree: ast.Module) -> "dict[str, bool]":
    """Class name -> whether calling that name surely instantiates the class (no function of
    that name at the module level: the analysis looks functions up first)."""
    found = tree.__dict__.get("_gradfix_gf104_classes")
    if found is None:
        functions = {s.name for s in tree.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))}
        found = {c.name: c.name not in functions for c in nodes_of(tree, ast.ClassDef)}
        tree._gradfix_gf104_classes = found  # type: ignore[attr-defined]
    return found


def _classes_around(tree: ast.Module, node: ast.AST) -> "list[ast.ClassDef]":
    """The classes ``node`` is in that may be modules (a base: `enclosing_class` and `is_module`)."""
    parents = parents_of(tree)
    found = []
    parent = parents.get(id(node))
    while parent is not None:
        if isinstance(parent, ast.ClassDef) and parent.bases:
            found.append(parent)
        parent = parents.get(id(parent))
    return found


def _parameter_stores(tree: ast.Module) -> "dict[str, list[tuple[ast.AST, set[int]]]]":
    """attr -> (every ``self.attr`` store that may bind a Parameter, the classes around it)."""
    parents = parents_of(tree)
    stores: dict[str, list[tuple[ast.AST, set[int]]]] = {}
    for node in nodes_of(tree, ast.Attribute):
        if not (isinstance(node.ctx, ast.Store) and isinstance(node.value, ast.Name) and node.value.id == "self"):
            continue
        statement = parents.get(id(node))
        if isinstance(statement, (ast.Assign, ast.AnnAssign)) and _never_a_parameter(tree, statement.value):
            continue
        stores.setdefault(node.attr, []).append((node, {id(c) for c in _classes_around(tree, node)}))
    return stores


class LeafRebind(Rule):
    """
    Rebinding a leaf's name to a value computed from it hides the leaf.

    After `eta = nn.Parameter(...)`, the line `eta = eta * 2` makes the name `eta` refer to
    a new, non-leaf tensor. The Parameter itself still exists and still receives its
    gradient, but nothing names it any more: `eta.grad` now reads the non-leaf's `.grad`,
    which is always None (with a UserWarning), and `torch.optim.SGD([eta])` raises "can't
    optimize a non-leaf Tensor". The gradient was right all along; only the name moved.

    The fix binds the derived value to a new name (`eta_scaled`) and renames the later
    loads that meant the derived value, while `.grad` reads and optimizer parameter lists
    keep naming the leaf. Forward values are bitwise equal:
    the same operations run on the same tensors.

    Bad:

        eta = nn.Parameter(torch.rand(10))
        eta = eta * 2
        eta.sum().backward()
        print(eta.grad)        # None

    Good:

        eta = nn.Parameter(torch.rand(10))
        eta_scaled = eta * 2
        eta_scaled.sum().backward()
        print(eta.grad)        # tensor([2., 2., ...])

    Fix safety: safe in straight-line code. Reported without a fix when the rebinding is
    loop-carried (the next iteration reads the derived value), conditional, rebound again
    later, or read by nested functions; manual SGD (`w = w - lr * w.grad`) is reported
    with the `torch.no_grad()` in-place form to use instead. `self.w = f(self.w)` on a
    registered Parameter raises TypeError; it is reported without a fix.
    """

    code = "GF104"
    name = "leaf-rebind"
    summary = "a leaf that requires grad is rebound to a value derived from it, then its `.grad` is read"
    # detect needs torch imported and one of its two branches:
    # - `_name`: a LEAF use of the name (`_uses`): `.grad`, or a `torch.optim` optimizer, which
    #   the file can only name with the word `optim` (`torch.optim.SGD`, `from torch import optim`);
    # - `_attribute`: `self.w = <reads self.w>` that reads `self.w.grad` (`.grad` again) or where
    #   another binding of `self.w` is a Parameter (a Parameter source: see `text_check`).
    requires = ((".grad", "optim", "self."),)
    trigger = re.compile(r"torch")  # (a required string, searched first; `text_check` does the rest)

    @staticmethod
    def text_check(source: str) -> bool:
        """``.grad`` or ``optim``; else the `_attribute` Parameter case: a Parameter source
        (``Parameter``, ``register_parameter``, ``parameters()``, a module's ``weight``/``bias``)
        and some ``self.w = ...`` whose statement reads ``self.w`` again, with ``self.w``
        written at least three times (the rebinding, its read, the Parameter's binding)."""
        if not may_carry_graph_text(source):
            return False  # (detect skips an assignment whose value does not carry a graph)
        if names_grad_or_optim(source):
            return True
        if not any(s in source for s in ("arameter", "weight", "bias")):
            return False
        counts: dict[str, int] = {}
        for match in _SELF_STORE.finditer(source):
            attr, rest = match.groups()
            spelled = "self." + attr  # (substring tests: `self.w` also counts `self.w2`, a superset)
            if spelled not in rest:
                if _OPENERS.search(rest) is None or _opened(rest) <= 0:
                    continue  # the statement ends on this line
                if spelled not in _statement_from(source, match.start(2)):
                    continue
            if attr not in counts:
                counts[attr] = source.count(spelled)
            if counts[attr] >= 3:
                return True
        return False

    @staticmethod
    def quick_check(tree: ast.Module) -> bool:
        """``name = <expression reading name>`` on a name with a leaf use (``name.grad``, an
        optimizer's parameters, a list handed to one), or ``self.w = <expression reading
        self.w>`` where the right side reads ``self.w.grad`` or ``self.w`` has another binding
        and the file has a Parameter: what ``_name`` and ``_attribute`` need before they report."""
        if not imports_torch(tree) or not may_carry_graph(tree):
            return False  # (detect skips an assignment whose value does not carry a graph)
        leafy = stores = None
        for node in nodes_of(tree, ast.Assign):
            if len(node.targets) != 1:
                continue
            target = node.targets[0]
            if isinstance(target, ast.Name):
                if leafy is None:
                    leafy = leaf_used_names(tree)
                if target.id in leafy and any(isinstance(n, ast.Name) and n.id == target.id for n in walked(node.value)) and not grad_disabled(tree, node):
                    return True
            elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self":
                attr = target.attr
                inside = walked(node.value)
                reads = {id(n) for n in inside if isinstance(n, ast.Attribute) and n.attr == attr and isinstance(n.value, ast.Name) and n.value.id == "self"}
                if not reads:
                    continue
                if grad_disabled(tree, node):
                    continue  # (detect skips it)
                if any(isinstance(n, ast.Attribute) and n.attr == "grad" and id(n.value) in reads for n in inside):
                    return True  # the manual update `self.w = self.w - lr * self.w.grad`
                if not may_hold_parameters(tree):
                    continue
                if stores is None:
                    stores = _parameter_stores(tree)
                # A registered Parameter: another binding of `self.w` in a module class is a
                # Parameter (the leaf `bound` value of `_attribute`).
                classes = {id(c) for c in _classes_around(tree, node)}
                if any(store is not target and classes & around for store, around in stores.get(attr, ())):
                    return True
        return False

    def detect(self, analysis: Analysis):
        if not analysis.imports.imports_module("torch"):
            return
        for assign in analysis.nodes(ast.Assign):
            if len(assign.targets) != 1 or analysis.grad_disabled(assign):
                continue
            value = analysis.value(assign.value)
            if not value.carries or value.leaf:
                continue  # a cut, or a fresh leaf (`nn.Parameter(f(w))`, `.detach().requires_grad_()`)
            target = assign.targets[0]
            if isinstance(target, ast.Name):
                yield from self._name(analysis, assign, target.id)
            elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self":
                yield from self._attribute(analysis, assign, target)

    def _name(self, analysis: Analysis, assign: ast.Assign, name: str):
        function = analysis.enclosing_function(assign)
        scope = function or analysis.tree
        names = uses(analysis, scope)
        occs = names.of(name)
        inside = names_in(assign)
        reads = [o for o in occs if o.kind != STORE and id(o.node) in inside]
        if not reads:
            return  # the right side does not read the name
        first, last = span(occs, inside)
        previous = [o for o in occs if o.kind == STORE and o.index < first]
        if previous:
            definition = next(a for a in analysis.ancestors(previous[-1].node) if isinstance(a, ast.stmt))
            if not isinstance(definition, (ast.Assign, ast.AnnAssign)):
                return  # a `for` target, an import, a `with` name: not a leaf this rule follows
            defined_leaf = analysis.value(previous[-1].node).leaf
        elif function is not None and name in _parameters(function):
            definition = function  # a leaf the callers pass in
            defined_leaf = analysis.arguments(function).get(name, analysis.value(reads[0].node)).leaf
        else:
            return
        # The leaf as defined (a loop joins it with the derived value), or made one after
        # its creation (`x.requires_grad = True`, `x.requires_grad_()`).
        if not any(analysis.value(o.node).leaf or (defined_leaf and analysis.value(o.node).carries) for o in reads):
            return
        s_chain = _compounds(analysis, assign, scope)
        d_chain = _compounds(analysis, definition, scope) if definition is not function else []
        common = [c for c in s_chain if any(c is d for d in d_chain)]
        s_extra = [c for c in s_chain if not any(c is x for x in common)]
        d_extra = [c for c in d_chain if not any(c is x for x in common)]
        loop = next((c for c in s_extra if isinstance(c, _LOOPS)), None)
        later = [o for o in occs if o.index > last]
        if loop is not None:
            loop_ids = names_in(loop)
            leaf_uses = [o for o in occs if o.kind == LEAF and (o.index > last or id(o.node) in loop_ids)]
        else:
            leaf_uses = [o for o in later if o.kind == LEAF]
        if not leaf_uses:
            return
        if any(o.kind == LEAF and id(o.node) in inside for o in occs):
            yield self.finding(assign, _manual_update(name))
            return
        if loop is not None:
            yield self.finding(
                assign,
                f"`{name}` (a leaf that requires grad) is rebound to a derived tensor inside a loop, so "
                f"later `.grad` reads and optimizers get a non-leaf; bind the result to a new name (not fixed: the rebinding is loop-carried)",
            )
            return
        reason = _why_not_renamed(analysis, name, names, occs, later, assign, definition, common, s_extra or d_extra, scope)
        if reason is not None:
            yield self.finding(
                assign,
                f"`{name}` (a leaf that requires grad) is rebound to a derived tensor, so later `.grad` reads and "
                f"optimizers get a non-leaf; bind the result to a new name (not fixed: {reason})",
            )
            return
        new = fresh_name(analysis, f"{name}_{_suffix(assign.value)}")
        renamed = [assign.targets[0], *(o.node for o in later if o.kind == LOAD)]
        yield self.finding(
            assign,
            f"`{name}` (a leaf that requires grad) is rebound to a derived tensor, so later `.grad` reads and "
            f"optimizers get a non-leaf; bind the result to `{new}` and keep `{name}` for the leaf",
            LazyFix(partial(_rename, names=renamed, new=new), Applicability.SAFE, f"rename the derived value to `{new}`"),
        )

    def _attribute(self, analysis: Analysis, assign: ast.Assign, target: ast.Attribute):
        """``self.w = f(self.w)`` where ``self.w`` is a Parameter (or a leaf) of the class."""
        attr = target.attr
        reads = [n for n in ast.walk(assign.value) if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "self" and n.attr == attr]
        info = analysis.enclosing_class(assign)
        if not reads or info is None:
            return
        bound = [analysis.value(t) for m in info.methods.values() for t in ast.walk(m) if isinstance(t, ast.Attribute) and isinstance(t.ctx, ast.Store) and dotted(t) == f"self.{attr}"]
        if not any(v.leaf for v in bound) or not any(analysis.value(r).leaf or analysis.value(r).carries for r in reads):
            return
        if any(isinstance(p, ast.Attribute) and p.attr == "grad" for r in reads for p in [analysis.parent(r)]):
            yield self.finding(assign, _manual_update(f"self.{attr}"))
        elif info.is_module and any(v.parameter for v in bound):
            yield self.finding(
                assign,
                f"`self.{attr}` is a registered Parameter: assigning a tensor computed from it raises TypeError "
                f"(and would hide the Parameter); bind the result to a local name (not fixed: other methods read `self.{attr}`)",
            )


def _manual_update(name: str) -> str:
    return (
        f"`{name}` is rebound to a non-leaf by a manual update, so its next `.grad` is None; "
        f"update in place instead: `with torch.no_grad(): {name} -= ...`, then zero `{name}.grad`"
    )


def _parameters(function) -> set[str]:
    args = function.args
    return {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)}


def _why_not_renamed(analysis, name, names, occs, later, assign, definition, common, branched, scope) -> str | None:
    if branched:
        return "the rebinding is conditional"
    if name in names.unsafe or name in names.nested_loads:
        return f"`{name}` is also used by nested code or declared global"
    if any(o.kind == STORE for o in later):
        return f"`{name}` is rebound again later"
    if common and isinstance(common[-1], _LOOPS):
        loop_ids = names_in(common[-1])
        d_first = min((o.index for o in occs if id(o.node) in names_in(definition)), default=-1)
        if any(o.index < d_first and id(o.node) in loop_ids for o in occs) or any(id(o.node) not in loop_ids for o in later):
            return "the name is used across loop iterations"
    elif common and any(id(o.node) not in names_in(common[-1]) for o in later):
        return "the name is used after the enclosing block"
    elif _in_later_loop(analysis, [o.node for o in later if o.kind == LOAD], assign, scope):
        return "a later loop reads the derived value, which would go stale once the leaf is updated; compute it inside the loop"
    return None


def _compounds(analysis: Analysis, node: ast.AST, scope: ast.AST) -> list[ast.AST]:
    """Branching and looping statements around ``node`` inside its scope, outermost first."""
    out = []
    for ancestor in analysis.ancestors(node):
        if ancestor is scope:
            break
        if isinstance(ancestor, _COMPOUND):
            out.append(ancestor)
    return list(reversed(out))


def _in_later_loop(analysis: Analysis, loads, statement: ast.AST, scope: ast.AST) -> bool:
    """Some load sits in a loop that does not contain ``statement``."""
    around = [a for a in analysis.ancestors(statement)]
    for load in loads:
        for ancestor in analysis.ancestors(load):
            if ancestor is scope:
                break
            if isinstance(ancestor, _LOOPS) and not any(a is ancestor for a in around):
                return True
    return False


def _suffix(value: ast.expr) -> str:
    if isinstance(value, ast.BinOp):
        return _SUFFIX_BY_OPERATOR.get(type(value.op), "derived")
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute):
        return _SUFFIX_BY_METHOD.get(value.func.attr, "derived")
    return "derived"


def _rename(ctx, names: list[ast.Name], new: str) -> Fix | None:
    nodes = [ctx.node_for(n) for n in names]
    if any(n is None for n in nodes):
        return None
    return Fix([(n, cst.Name(new)) for n in nodes], Applicability.SAFE, f"rename the derived value to `{new}`")
