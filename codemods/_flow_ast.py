"""Def-use facts on CPython's ``ast`` within one scope: statements and blocks, the names a
statement reads or (re)binds, what a value flows into, loops and their backward calls.

The value analysis (``_values.py``) says what a value *is*; these helpers say *where* a name
is read and written, for rules about training loops (a graph built before the loop and
reused in it, a graph carried from one step to the next) and about where a value goes. Names
are dotted (``x``, ``self.w``). All walks stop at nested ``def``/``class``/``lambda`` bodies:
those are other scopes.
"""

from __future__ import annotations

import ast
from functools import partial
from typing import Iterable, Iterator

from ._ast import calls_named, child_nodes
from ._values import _CANONICAL, dotted

_OTHER_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
_OTHER_SCOPE_TYPES = frozenset(_OTHER_SCOPES)
LOOPS = (ast.For, ast.AsyncFor, ast.While)
COMPOUND = (
    ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try,
    ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
) + tuple(getattr(ast, n) for n in ("TryStar", "Match") if hasattr(ast, n))
_BLOCK_FIELDS = ("body", "orelse", "finalbody", "handlers", "cases")
_MATCH_CASE = (ast.match_case,) if hasattr(ast, "match_case") else ()
_AUTOGRAD = {"torch.autograd.backward", "torch.autograd.grad"}
# Container methods that put their argument into the receiver.
_STORING_METHODS = {"append", "extend", "insert", "add", "update", "setdefault"}


def walk(node: ast.AST | list) -> Iterator[ast.AST]:
    """``node`` and everything under it, in source order, not entering nested scopes.

    Expression contexts and operators (``Load``, ``Add``) are not yielded."""
    stack = list(reversed(node)) if isinstance(node, list) else [node]
    roots = {id(n) for n in stack}
    while stack:
        current = stack.pop()
        yield current
        if type(current) in _OTHER_SCOPE_TYPES and id(current) not in roots:
            continue
        children = child_nodes(current)
        children.reverse()
        stack.extend(children)


def blocks(tree: ast.AST) -> Iterator[list[ast.stmt]]:
    """Every statement list in ``tree`` (module, function, loop, branch bodies), nested scopes too."""
    from ._values import indexed

    by_type = indexed(tree)[1]
    # Only these node types hold statement lists: no look at the (many more) expressions.
    holders = [n for t in dict.fromkeys((type(tree), *COMPOUND, ast.ExceptHandler, *_MATCH_CASE)) for n in by_type.get(t, [])]
    for node in holders:
        for field in _BLOCK_FIELDS:
            block = getattr(node, field, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                yield block


def statements(block: ast.AST | list) -> Iterator[ast.stmt]:
    """The statements under ``block`` (simple and compound), in source order, not ``block`` itself."""
    stack = list(reversed(block)) if isinstance(block, list) else _child_statements(block)
    while stack:
        stmt = stack.pop()
        yield stmt
        if not isinstance(stmt, _OTHER_SCOPES):
            stack.extend(_child_statements(stmt))


def _child_statements(node: ast.AST) -> list[ast.stmt]:
    out: list[ast.stmt] = []
    for field in _BLOCK_FIELDS:
        for child in getattr(node, field, None) or []:
            if isinstance(child, ast.stmt):
                out.append(child)
            else:  # an except handler or a match case: its body
                out.extend(getattr(child, "body", []))
    return list(reversed(out))


def forced_requires_grad(stmt: ast.stmt) -> str | None:
    """The dotted name a statement turns ``requires_grad`` on for: ``x.requires_grad = True``,
    ``x.requires_grad_()``, ``x.requires_grad_(True)`` (what hides a cut loss: on a tensor with
    no graph it makes a fresh leaf, and backward then runs and trains nothing)."""
    if type(stmt) is ast.Assign and len(stmt.targets) == 1:
        target = stmt.targets[0]
        if type(target) is ast.Attribute and target.attr == "requires_grad" and type(stmt.value) is ast.Constant and stmt.value.value is True:
            return dotted(target.value)
        return None
    if type(stmt) is ast.Expr and forcing_call(stmt.value):
        return dotted(stmt.value.func.value)  # type: ignore[attr-defined]
    return None


def forcing_call(node: ast.AST) -> bool:
    """Whether ``node`` is ``x.requires_grad_()`` or ``x.requires_grad_(True)`` (it returns ``x``)."""
    if type(node) is not ast.Call:
        return False
    func = node.func
    if type(func) is not ast.Attribute or func.attr != "requires_grad_" or len(node.args) + len(node.keywords) > 1:
        return False
    flag = node.args[0] if node.args else node.keywords[0].value if node.keywords else None
    return flag is None or (type(flag) is ast.Constant and flag.value is True)


def block_of(parent_of, stmt: ast.stmt) -> list[ast.stmt] | None:
    """The statement list that holds ``stmt`` (``parent_of``: ``Analysis.parent``)."""
    parent = parent_of(stmt)
    for field in _BLOCK_FIELDS:
        block = getattr(parent, field, None)
        if isinstance(block, list) and any(s is stmt for s in block):
            return block
    return None


def alone_on_its_lines(stmt: ast.stmt, block: list[ast.stmt]) -> bool:
    """Not sharing a line with another statement (``a = 1; b = 2``)."""
    index = next((i for i, s in enumerate(block) if s is stmt), None)
    if index is None:
        return False
    if index and block[index - 1].end_lineno == stmt.lineno:
        return False
    return not (index + 1 < len(block) and block[index + 1].lineno == stmt.end_lineno)


def has_indented_body(node: ast.For | ast.AsyncFor | ast.While) -> bool:
    """The body starts on a line after the header (``for x in y: f(x)`` does not)."""
    header = node.test if isinstance(node, ast.While) else node.iter
    return bool(node.body) and node.body[0].lineno > (header.end_lineno or header.lineno)


# Names -------------------------------------------------------------------------------------
def names_read(node: ast.AST | list) -> set[str]:
    """Dotted names (``x``, ``self.w``) and their bases that ``node`` reads.

    Attribute names (the ``exp`` of ``x.exp()``) and keyword names (``dim=``) are not reads;
    assignment targets are not either (but the ``x`` of ``x[i] = v`` and ``x.a = v`` is).
    """
    if type(node) is list:
        found: set[str] = set()
        for item in node:  # a list's reads are its items' (each walked as a root)
            found |= _reads_of(item)
        return found
    return set(_reads_of(node))


def _reads_of(node: ast.AST) -> frozenset[str]:
    """:func:`names_read` of one node, kept on the node: the rules ask it of the same
    statements and loops again and again (the names a subtree reads never change)."""
    found = node.__dict__.get("_gradfix_reads")
    if found is None:
        names: set[str] = set()
        Name, Attribute, Load = ast.Name, ast.Attribute, ast.Load
        nodes, inner = _parts(node, "_gradfix_writes")
        for current in nodes:
            kind = type(current)
            if kind is Name:
                if type(current.ctx) is Load:
                    names.add(current.id)
            elif kind is Attribute and type(current.ctx) is Load:
                name = dotted(current)
                if name is not None:
                    names.add(name)
        for stmt in inner:  # the statements under it: their own (kept) reads
            names |= _reads_of(stmt)
        found = node._gradfix_reads = frozenset(names)  # type: ignore[attr-defined]
    return found


def _parts(root: ast.AST, other: str) -> tuple[list[ast.AST], list[ast.stmt]]:
    """:func:`_shallow` of ``root``, walked once for both :func:`_reads_of` and
    :func:`_writes_of` (``other``: the key of the one not asking): kept on the node until the
    other asks too. (Kept without ``root`` itself: a node holding itself would be a cycle.)"""
    kept = root.__dict__.pop("_gradfix_parts", None)
    if kept is not None:
        return [root, *kept[0]], kept[1]
    nodes, inner = _shallow(root)
    if other not in root.__dict__:
        root._gradfix_parts = (nodes[1:], inner)  # type: ignore[attr-defined]
    return nodes, inner


def _shallow(root: ast.AST) -> tuple[list[ast.AST], list[ast.stmt]]:
    """What :func:`walk` yields under ``root``, split in two: the nodes down to the statements
    under ``root`` (not into them), and those statements (other than nested ``def``/``class``,
    which are in the first list, not entered). :func:`_reads_of` and :func:`_writes_of` of a
    compound statement are their own nodes' and their statements' (kept on each), so a loop
    and the statements in it, all asked about, are not walked once for each level around them."""
    nodes: list[ast.AST] = []
    inner: list[ast.stmt] = []
    stack = [root]
    stmt_type = ast.stmt
    while stack:
        current = stack.pop()
        if current is not root:
            if type(current) in _OTHER_SCOPE_TYPES:
                nodes.append(current)
                continue
            if isinstance(current, stmt_type):
                inner.append(current)
                continue
        nodes.append(current)
        children = child_nodes(current)
        children.reverse()
        stack.extend(children)
    return nodes, inner


def free_reads(stmt: ast.stmt) -> set[str]:
    """Names ``stmt`` reads from its scope; for a ``def``, what its body reads that is not a
    parameter or a local of its own (``def nll(x, scale)`` does not read a global ``scale``)."""
    if not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return names_read(stmt)
    args = stmt.args
    own = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg) if a is not None}
    own |= names_written(stmt.body)
    outer = names_read([*stmt.decorator_list, *args.defaults, *(d for d in args.kw_defaults if d is not None)])
    return outer | {n for n in names_read(stmt.body) if n.split(".")[0] not in own}


def mentions(node: ast.AST, names: set[str]) -> bool:
    return bool(names_read(node) & names)


def target_names(target: ast.AST) -> set[str]:
    """The names an assignment target binds or changes (``a, b``; ``x[i]``, ``x.data[i]``: ``x``)."""
    if isinstance(target, (ast.Tuple, ast.List)):
        out: set[str] = set()
        for element in target.elts:
            out |= target_names(element)
        return out
    if isinstance(target, ast.Starred):
        return target_names(target.value)
    while isinstance(target, (ast.Subscript, ast.Attribute)) and dotted(target) is None:
        target = target.value
    name = dotted(target)
    return {name} if name is not None else set()


def loop_targets(loop: ast.AST) -> set[str]:
    return target_names(loop.target) if isinstance(loop, (ast.For, ast.AsyncFor)) else set()


def names_written(node: ast.AST | list) -> set[str]:
    """Names a statement (or block) binds or changes in place.

    Covers assignments (also to ``x[i]`` and ``x.data``), ``for`` and comprehension targets,
    ``with ... as``, walrus, ``del``, nested ``def``/``class`` names, and in-place method calls
    such as ``x.add_(...)`` or ``x.data.copy_(...)``. For ``x.data`` and ``x.attr`` writes
    the base ``x`` counts too.
    """
    if type(node) is list:
        out: set[str] = set()
        for item in node:  # a list's writes are its items' (each walked as a root)
            out |= _writes_of(item)
        return out
    return set(_writes_of(node))


_TARGET_FIELD = {ast.AugAssign, ast.AnnAssign, ast.For, ast.AsyncFor, ast.comprehension, ast.NamedExpr}
_DEFINITIONS = {ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef}


def _writes_of(root: ast.AST) -> frozenset[str]:
    """:func:`names_written` of one node, kept on the node (see :func:`_reads_of`)."""
    found = root.__dict__.get("_gradfix_writes")
    if found is not None:
        return found
    out: set[str] = set()
    Assign, Call, Attribute = ast.Assign, ast.Call, ast.Attribute
    nodes, inner = _parts(root, "_gradfix_reads")
    for stmt in inner:  # the statements under it: their own (kept) writes
        out |= _writes_of(stmt)
    for current in nodes:
        kind = type(current)
        if kind is Assign:
            targets = current.targets
        elif kind in _TARGET_FIELD:
            targets = [current.target]
        elif kind is ast.withitem:
            if current.optional_vars is None:
                continue
            targets = [current.optional_vars]
        elif kind is ast.Delete:
            targets = current.targets
        elif kind in _DEFINITIONS:
            if current is not root:
                out.add(current.name)
            continue
        elif kind is Call and type(current.func) is Attribute:
            method = current.func.attr
            if not (method.endswith("_") and not method.startswith("_")):
                continue
            targets = [current.func.value]
        else:
            continue
        for target in targets:
            for name in target_names(target):
                if "." in name:
                    parts = name.split(".")
                    out.update(".".join(parts[: i + 1]) for i in range(len(parts)))
                else:
                    out.add(name)
    found = root._gradfix_writes = frozenset(out)  # type: ignore[attr-defined]
    return found


def flows_into(body: Iterable[ast.AST], seeds: set[str], mentions=mentions) -> set[str]:
    """Names that hold values computed from ``seeds`` anywhere in ``body`` (two passes, for
    loops): assignments, and containers a value is appended to (``xs.append(z)``).
    ``mentions(node, names)`` decides what counts as computing from a name (a rule may skip
    reads that carry no graph, such as ``x.detach()``)."""
    tainted = set(seeds)
    body = list(body)
    for _ in range(2):
        for stmt in body:
            for node in walk(stmt):
                if isinstance(node, ast.Assign) and mentions(node.value, tainted):
                    for target in node.targets:
                        tainted |= target_names(target)
                elif isinstance(node, (ast.AugAssign, ast.AnnAssign)) and node.value is not None and mentions(node.value, tainted):
                    tainted |= target_names(node.target)
                elif (
                    isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in _STORING_METHODS
                    and any(mentions(a, tainted) for a in node.args)
                ):
                    tainted |= target_names(node.func.value)
    return tainted


def reads_after(parent_of, node: ast.stmt) -> set[str]:
    """Names read by statements that may run after ``node`` in its scope: later statements of
    the enclosing blocks, and whole enclosing loops (they run the code before ``node`` again).
    ``parent_of`` maps a node to its parent (``Analysis.parent``)."""
    out: set[str] = set()
    child: ast.AST = node
    parent = parent_of(child)
    while parent is not None:
        for field in _BLOCK_FIELDS:
            block = getattr(parent, field, None)
            if isinstance(block, list) and any(s is child for s in block):
                index = next(i for i, s in enumerate(block) if s is child)
                for later in block[index + 1 :]:
                    out |= free_reads(later)
        if isinstance(parent, (ast.Module, *_OTHER_SCOPES)):
            break
        if isinstance(parent, LOOPS):
            out |= names_read(parent)
        child, parent = parent, parent_of(parent)
    return out


def loop_carried(loop: ast.For | ast.AsyncFor | ast.While) -> bool:
    """Whether a name is read in the loop body before the body assigns it: a value from the
    previous iteration, which may hold that iteration's graph."""
    return bool(carried_names(loop))


def carried_names(loop: ast.For | ast.AsyncFor | ast.While, branches: bool = False) -> dict[str, ast.stmt]:
    """The names :func:`loop_carried` finds, each with the first statement that reads it.

    With ``branches``, a write under an ``if`` hides the previous iteration's value only
    when every branch makes it (``try`` bodies and inner loops count as run): after
    ``if i == 0: bank = f(x)``, a read of ``bank`` is carried from iteration 1 on.
    """
    found: dict[str, ast.stmt] = {}
    written = names_written(loop.body)
    if not branches:
        assigned = set(loop_targets(loop))
        for stmt in statements(loop.body):
            if isinstance(stmt, COMPOUND):
                if isinstance(stmt, (ast.For, ast.AsyncFor)):
                    assigned |= loop_targets(stmt)
                continue
            for name in (_assignment_reads(stmt) & written) - assigned:
                found.setdefault(name, stmt)
            assigned |= names_written(stmt)
        return found

    def visit(block: list[ast.stmt], assigned: set[str]) -> set[str]:
        for stmt in block:
            if isinstance(stmt, ast.If):
                assigned = visit(stmt.body, set(assigned)) & visit(stmt.orelse, set(assigned))
            elif isinstance(stmt, (ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith)):
                assigned = visit(stmt.body, assigned | loop_targets(stmt) | names_written(getattr(stmt, "items", [])))
            elif isinstance(stmt, COMPOUND) and not isinstance(stmt, _OTHER_SCOPES):
                after = visit(getattr(stmt, "body", []), set(assigned))  # try, match: handlers and cases may not run
                for child in _child_statements(stmt):
                    if not any(child is s for s in getattr(stmt, "body", [])):
                        visit([child], set(assigned))
                assigned = after
            elif isinstance(stmt, _OTHER_SCOPES):
                assigned = assigned | names_written(stmt)
            else:
                for name in (_assignment_reads(stmt) & written) - assigned:
                    found.setdefault(name, stmt)
                assigned = assigned | names_written(stmt)
        return assigned

    visit(loop.body, set(loop_targets(loop)))
    return found


def _assignment_reads(stmt: ast.stmt) -> set[str]:
    if isinstance(stmt, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
        reads = names_read(stmt.value) if stmt.value is not None else set()
        if isinstance(stmt, ast.AugAssign):
            reads |= target_names(stmt.target)
        return reads
    return names_read(stmt)


# Backward calls ----------------------------------------------------------------------------
def is_backward_call(analysis, node: ast.AST) -> bool:
    """``loss.backward(...)``, ``torch.autograd.backward(...)`` or ``torch.autograd.grad(...)``."""
    if type(node) is not ast.Call:
        return False
    func = node.func
    kind = type(func)
    if kind is ast.Attribute:
        if func.attr == "backward":
            return True
        if func.attr != "grad":
            return False  # `x.y.z(...)` qualifies to a name ending in `z`: not one of _AUTOGRAD
    elif kind is not ast.Name:
        return False  # only a dotted name qualifies
    return analysis.qualify(func) in _AUTOGRAD


def file_backward_calls(analysis) -> list[ast.Call]:
    """The file's backward calls (:func:`is_backward_call`), in ``analysis.calls()`` order: one
    list per file for the rules and tables that start from them."""
    return analysis.shared("backward calls", partial(_file_backward_calls, analysis))


def _file_backward_calls(analysis) -> list[ast.Call]:
    # Only `.backward(...)`, `.grad(...)` and a plain name imported as one of _AUTOGRAD can be
    # one: their calls, from the file's table by name, not a qualify of every call.
    aliases = [local for local, name in analysis.imports.aliases.items() if _CANONICAL.get(name, name) in _AUTOGRAD]
    return analysis.in_call_order(c for c in calls_named(analysis.tree, ("backward", "grad", *aliases)) if is_backward_call(analysis, c))


def backward_calls(analysis, node: ast.AST) -> list[ast.Call]:
    if type(node) is list:
        return [call for item in node for call in _backward_calls_of(analysis, item)]
    return list(_backward_calls_of(analysis, node))


def _backward_calls_of(analysis, node: ast.AST) -> list[ast.Call]:
    """:func:`backward_calls` of one node, from a table of the file's backward calls by the
    nodes they are under (no walk of each loop that several rules ask about)."""
    table: dict[int, list[ast.Call]] | None = analysis.memo.get("backward calls under")
    if table is None:
        table = analysis.memo["backward calls under"] = _backward_table(analysis)
    found = table.get(id(node))
    if found is not None:
        return found
    if node is analysis.tree or analysis.parent(node) is not None:
        return []  # a node of the file without a backward call under it
    return [n for n in walk(node) if type(n) is ast.Call and is_backward_call(analysis, n)]  # type: ignore[misc]


def _backward_table(analysis) -> dict[int, list[ast.Call]]:
    """Node id -> the backward calls ``walk(node)`` yields, in its order.

    A call is under each ancestor up to and including the nearest ``def``/``class``/``lambda``
    (a walk enters its root even when the root is a scope, and no scope below it). The
    calls are sorted by their path from the root (the position of each node among its
    parent's children, in ``walk``'s order), which is ``walk``'s depth-first order.
    """
    parent_of = analysis.parent
    calls = file_backward_calls(analysis)
    if not calls:
        return {}
    positions: dict[int, dict[int, int]] = {}  # parent id -> child id -> its position
    chains: list[tuple[tuple[int, ...], ast.Call, list[ast.AST]]] = []
    for call in calls:
        path: list[int] = []
        ancestors: list[ast.AST] = []
        child: ast.AST = call
        parent = parent_of(child)
        while parent is not None:
            where = positions.get(id(parent))
            if where is None:
                where = positions[id(parent)] = _child_positions(parent)
            path.append(where.get(id(child), 0))
            ancestors.append(parent)
            child, parent = parent, parent_of(parent)
        path.reverse()
        chains.append((tuple(path), call, ancestors))
    chains.sort(key=lambda chain: chain[0])
    table: dict[int, list[ast.Call]] = {}
    for _, call, ancestors in chains:
        table.setdefault(id(call), []).append(call)
        for ancestor in ancestors:
            table.setdefault(id(ancestor), []).append(call)
            if type(ancestor) in _OTHER_SCOPE_TYPES:
                break  # further up, the walk would have to enter this scope
    return table


def _child_positions(parent: ast.AST) -> dict[int, int]:
    """Child id -> its index among the children :func:`walk` visits under ``parent``."""
    return {id(child): index for index, child in enumerate(child_nodes(parent))}


def backward_roots(analysis, call: ast.Call) -> list[ast.expr]:
    """What a backward call differentiates: the receiver of ``x.backward()``, else its first argument."""
    if isinstance(call.func, ast.Attribute) and call.func.attr == "backward" and analysis.qualify(call.func) not in _AUTOGRAD:
        return [call.func.value]
    return [call.args[0]] if call.args else []


def step_calls(node: ast.AST | list) -> list[ast.Call]:
    """``optimizer.step()`` calls under ``node`` (no arguments: a closure-less step)."""
    return [
        n for n in walk(node)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "step" and not n.args
    ]


def keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)
