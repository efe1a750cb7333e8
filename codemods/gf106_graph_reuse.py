"""GF106 graph-reuse."""

from __future__ import annotations

import ast
import bisect
from dataclasses import dataclass
from functools import partial

import libcst as cst

from gradfix.rule import Applicability, Fix, LazyFix, Rule

from ._ast import backward_loops, bound_names, calls_named, imports_of, nodes_of, parents_of
from ._flow_ast import (
    LOOPS,
    alone_on_its_lines,
    backward_calls,
    file_backward_calls,
    backward_roots,
    blocks,
    flows_into,
    free_reads,
    has_indented_body,
    keyword,
    loop_carried,
    loop_targets,
    mentions,
    names_read,
    names_written,
    reads_after,
    statements,
    target_names,
    walk,
)
from ._text import ANYTHING, BACKPROP, calls_backward
from ._values import Analysis, Kind, dotted

# Calls that draw random numbers: moving them would change what every later draw returns.
_RANDOM = {
    "rand", "randn", "randint", "randperm", "normal", "bernoulli", "multinomial", "poisson",
    "rand_like", "randn_like", "randint_like", "dropout", "sample", "rsample", "normal_",
    "uniform_", "bernoulli_", "random_", "exponential_", "cauchy_", "geometric_", "log_normal_",
    "shuffle", "choice", "feature_alpha_dropout", "alpha_dropout", "gumbel_softmax",
}
# Top-level calls whose result is a new leaf or object, not a value derived from one.
_NOT_DERIVED_METHODS = {"to", "cuda", "cpu", "detach", "requires_grad_", "type", "double", "float", "half", "bfloat16"}
# How deep _pure follows calls of the file's own helper functions.
_HELPER_DEPTH = 2


@dataclass
class _Candidate:
    assign: ast.Assign
    target: str
    fixable: bool


class GraphReuse(Rule):
    """
    A tensor or distribution derived from Parameters once, before a training loop, and used
    inside it.

    `std = torch.exp(log_std)` (or `dist = Normal(mean, std)`) written before the loop
    builds one small graph from the Parameters. The first `backward()` frees it; the second
    iteration backpropagates through it again and raises "Trying to backward through the
    graph a second time". The error message suggests `retain_graph=True`, which makes the
    loop run but train on stale values: `std` keeps the value it had before the first
    `step()` while `log_std` moves on, and the gradient of `log_std` is computed for the
    stale `std`.

    The fix moves those statements, in order, to the top of the loop body (or copies them
    there when the names are also used after the loop), so iteration 1 computes exactly the
    same values (bitwise) and every later iteration a fresh graph from the updated
    Parameters. `retain_graph=True` on the loop's only backward is dropped when nothing
    else in the loop carries a graph from one iteration to the next. Hyperparameters are
    never changed.

    Bad:

        log_std = nn.Parameter(torch.zeros(1))
        std = torch.exp(log_std)
        dist = Normal(mean, std)
        for step in range(100):
            opt.zero_grad()
            loss = -dist.log_prob(data).mean()
            loss.backward()          # iteration 2: backward through a freed graph
            opt.step()

    Good:

        log_std = nn.Parameter(torch.zeros(1))
        for step in range(100):
            std = torch.exp(log_std)
            dist = Normal(mean, std)
            opt.zero_grad()
            loss = -dist.log_prob(data).mean()
            loss.backward()
            opt.step()

    The same happens to a `closure` that `optimizer.step(closure)` runs: LBFGS evaluates it up
    to `max_iter` times in one step (any optimizer once per step of a loop), so a value derived
    before it from what the optimizer trains is backpropagated again on the second call. The
    fix computes it at the top of the closure (a copy when the code outside still reads it).

    Fix safety: safe when the statements are plain tensor/distribution computations (directly
    or through small helper functions of the file that only compute torch ops from their
    arguments) whose inputs do not change before the loop; otherwise (a module call, a random
    draw, an input changed on the way) the finding has no fix.
    """

    code = "GF106"
    name = "graph-reuse"
    summary = "a tensor derived from Parameters before a training loop is reused after backward(); recompute it in the loop"
    # Every finding is a loop around a backward call (``_loops_around_backward``): the file
    # spells one (``calls_backward``: ``x.backward(``, or torch.autograd's grad/backward).
    requires = (BACKPROP,)  # (calls_backward says the rest; one group for every backprop rule)
    trigger = ANYTHING
    text_check = staticmethod(calls_backward)

    @staticmethod
    def quick_check(tree: ast.Module) -> bool:
        """A loop around a backward call in the call's scope (``_loops_around_backward``), in a
        block where a statement that may be one of ``_loop``'s candidates comes before it."""
        seen: set[int] = set()
        may_be_candidate = _SyntaxCandidates(tree)
        for loop, parent in backward_loops(tree):
            if id(loop) in seen:
                continue
            seen.add(id(loop))
            for field in _BLOCK_FIELDS:
                block = getattr(parent, field, None)
                if not isinstance(block, list):
                    continue
                for index, stmt in enumerate(block):
                    if stmt is loop:
                        if any(may_be_candidate(block, position) for position in range(index)):
                            return True
                        break
        return _may_step_a_closure(tree, may_be_candidate)

    def detect(self, analysis: Analysis):
        if not analysis.imports.imports_module("torch"):
            return
        around_backward = _loops_around_backward(analysis)
        closures = _stepped_closures(analysis)
        for body in blocks(analysis.tree):
            for index, stmt in enumerate(body):
                if isinstance(stmt, LOOPS) and id(stmt) in around_backward:
                    finding = self._loop(analysis, body, index)
                    if finding is not None:
                        yield finding
                elif id(stmt) in closures:
                    finding = self._stepped_closure(analysis, body, index, closures[id(stmt)])
                    if finding is not None:
                        yield finding

    def _stepped_closure(self, analysis: Analysis, body: list[ast.stmt], index: int, step: ast.Call):
        """A ``closure`` that ``optimizer.step(closure)`` calls again and again (LBFGS evaluates
        it up to ``max_iter`` times per step; any optimizer once per step of a loop), reading a
        value derived from Parameters before it."""
        function = body[index]
        backwards = backward_calls(analysis, function)
        reads = free_reads(function)
        holder = _in_block(analysis, step, body)
        if holder is None:
            return None
        until = body.index(holder)
        stepping = names_written(body[until])  # (the step's statement: a loop may rebind names)
        chosen = _candidates_before(analysis, body, until, set(reads), names_written(function.body) | stepping, lambda inputs: inputs & stepping)
        after_def = {id(s) for s in body[index + 1:]}
        for candidate in chosen:
            if id(candidate.assign) in after_def:
                candidate.fixable = False  # the fix moves statements that come before the `def`
        if not chosen:
            return None
        own = list(statements(function))
        roots = [root for call in backwards for root in backward_roots(analysis, call)]
        reaching = {c.target for c in chosen if c.target in reads and any(mentions(root, flows_into(own, {c.target})) for root in roots)}
        chosen = _closure(chosen, reaching)
        # Only a graph from what the optimizer trains is known to be there: a frozen feature
        # extractor's output (style transfer's targets) has none.
        held = _held_names(analysis, step.func.value)  # type: ignore[attr-defined]
        if not chosen or not held & {n.split(".")[0] for c in chosen for n in names_read(c.assign.value)}:
            return None
        names = ", ".join(f"`{c.target}`" for c in chosen) + (" are" if len(chosen) > 1 else " is")
        caller = ast.unparse(step.func)
        message = (
            f"{names} computed from Parameters once, outside `{function.name}`, which `{caller}()` calls again "
            "(LBFGS evaluates it several times per step) and which backpropagates: its second call goes back "
            f"through a freed graph; compute it inside `{function.name}`"
        )
        fix = None
        docstring = isinstance(function.body[0], ast.Expr) and isinstance(function.body[0].value, ast.Constant)
        if all(c.fixable for c in chosen) and not docstring:
            chosen_ids = {id(c.assign) for c in chosen}
            outside = [s for s in body if id(s) not in chosen_ids and s is not function]
            read_elsewhere = set().union(*(free_reads(s) for s in outside)) | reads_after(analysis.parent, function)
            plan = [(c.assign, c.target not in read_elsewhere) for c in chosen]
            what = f"compute it at the top of `{function.name}`"
            fix = LazyFix(partial(_fix, loop=function, inner=function, plan=plan, drop=None, what=what), Applicability.SAFE, what)
        else:
            message += " (no automatic fix: a module call, a random draw or an input that changes on the way makes moving it unprovable)"
        return self.finding(chosen[0].assign, message, fix)

    def _loop(self, analysis: Analysis, body: list[ast.stmt], index: int):
        # Only called for loops around a backward call (_loops_around_backward).
        loop = body[index]
        backwards = backward_calls(analysis, loop)
        if not backwards:
            return None
        loop_writes = names_written(loop)
        rebound: list[set[str]] = []

        def changed(inputs: set[str]) -> set[str]:
            if not rebound:
                rebound.append(_rebound(loop))
            return inputs & rebound[0]

        chosen = _candidates_before(analysis, body, index, names_read(loop) - loop_writes, loop_writes, changed)
        if not chosen:
            return None
        # Only values that reach a backward root in the loop matter.
        loop_statements = list(statements(loop))
        direct = {c.target for c in chosen} & names_read(loop)
        roots = [root for call in backwards for root in backward_roots(analysis, call)]
        if not any(mentions(root, flows_into(loop_statements, direct)) for root in roots):
            return None
        reaching = {t for t in direct if any(mentions(root, flows_into(loop_statements, {t})) for root in roots)}
        chosen = _closure(chosen, reaching)
        if not chosen:
            return None
        targets = {c.target for c in chosen}
        inner = _insertion_loop(loop, backwards, targets)
        inputs = set().union(*(names_read(c.assign.value) for c in chosen))
        if not _updates(loop, inputs):
            return None  # nothing changes between iterations: reuse is wasteful at most
        fixable = all(c.fixable for c in chosen) and inner is not None
        if inner is not None:
            outside_inner = names_written(loop) - names_written(inner.body) - loop_targets(inner)
            on_path = set().union(*(loop_targets(n) for n in walk(loop) if isinstance(n, LOOPS) and _contains(n, inner)))
            if inputs & (outside_inner | on_path | loop_targets(inner)):
                fixable = False
        retained = [c for c in backwards if _is_true(keyword(c, "retain_graph"))]
        names = ", ".join(f"`{c.target}`" for c in chosen) + (" are" if len(chosen) > 1 else " is")
        if retained:
            message = (
                f"{names} computed from Parameters before the loop and reused after `backward(retain_graph=True)`: "
                "every iteration trains on the stale first value; recompute at the top of the loop body"
            )
        else:
            message = (
                f"{names} computed from Parameters before the loop and reused after `backward()`: iteration 2 "
                "backpropagates through a freed graph; recompute at the top of the loop body"
            )
        fix = None
        if fixable:
            fix = _plan_fix(analysis, body, loop, inner, chosen, backwards, retained)
        else:
            message += (
                " (no automatic fix: a module call, a random draw or an input that changes on the way "
                "makes moving it unprovable)"
            )
        return self.finding(chosen[0].assign, message, fix)


_BLOCK_FIELDS = ("body", "orelse", "finalbody", "handlers", "cases")


def _candidates_before(analysis: Analysis, body: list[ast.stmt], end: int, needed: set[str], shadowed: set[str], changed) -> list[_Candidate]:
    """The candidates before ``body[end]`` that ``needed`` reads (and what they read), in source
    order, from the block's table (no look at every earlier statement per loop). ``shadowed``:
    names ``body[end]`` or the code it runs binds itself; ``changed(inputs)``: the inputs it
    rebinds (moving the candidate there would then change what it computes)."""
    table = _block_table(analysis, body)
    chosen: list[_Candidate] = []
    for position, target, pure in reversed(table.candidates[: bisect.bisect_left(table.positions, end)]):
        if target not in needed or target in shadowed:
            continue
        if table.written_between(target, position, end):
            continue  # rebound on the way: not the value the loop sees
        candidate = _Candidate(body[position], target, pure)  # type: ignore[arg-type]
        inputs = names_read(candidate.assign.value)
        if candidate.target in inputs:
            continue  # `w = w * 0.01` rebinds a leaf's name (GF104), recomputing it would compound
        if changed(inputs) or any(table.written_between(name, position, end) for name in inputs):
            candidate.fixable = False
        chosen.append(candidate)
        needed |= inputs
    chosen.reverse()
    return chosen


def _assigns_a_name(stmt: ast.stmt) -> bool:
    """What ``_candidate`` starts from: ``name = ...``."""
    return isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)


class _SyntaxCandidates:
    """Whether ``block[position]`` may be a ``_candidate``, as far as the syntax tells: one name
    assigned alone on its lines a value ``_derived`` may accept. A call of an imported name
    (not bound otherwise in the file, so the analysis gives it the import) is judged by that
    name, as ``_derived`` does: not an optimizer, a module or Parameter constructor."""

    def __init__(self, tree: ast.Module) -> None:
        self.imports = imports_of(tree)
        self.tree = tree

    def __call__(self, block: list[ast.stmt], position: int) -> bool:
        stmt = block[position]
        if not _assigns_a_name(stmt) or not _alone_at(block, position):
            return False
        value = stmt.value  # type: ignore[attr-defined]
        if isinstance(value, (ast.BinOp, ast.UnaryOp, ast.Subscript)):
            return True
        if not isinstance(value, ast.Call):
            return False
        qualified = self.imports.qualify(value.func)
        if qualified is None:
            return True  # a module call, a helper, a method: the analysis decides
        if (dotted(value.func) or "").split(".")[0] in bound_names(self.tree, imports=False):
            return True  # the name may hold something else where it is called
        return _derived_call(qualified, value)


def _is_true(expr: ast.AST | None) -> bool:
    return isinstance(expr, ast.Constant) and expr.value is True


@dataclass
class _BlockTable:
    """Per statement list: its candidates (position, target, pure) in source order, and for
    each name the positions of the statements that write it (built once per block)."""

    candidates: list[tuple[int, str, bool]]
    positions: list[int]
    writers: dict[str, list[int]]

    def written_between(self, name: str, start: int, end: int) -> bool:
        """A statement strictly between positions ``start`` and ``end`` writes ``name``
        (``name in names_written(body[start + 1 : end])``)."""
        positions = self.writers.get(name)
        if not positions:
            return False
        i = bisect.bisect_right(positions, start)
        return i < len(positions) and positions[i] < end


def _block_table(analysis: Analysis, body: list[ast.stmt]) -> _BlockTable:
    tables: dict[int, _BlockTable] = analysis.memo.setdefault("GF106 blocks", {})  # type: ignore[assignment]
    table = tables.get(id(body))
    if table is None:
        candidates: list[tuple[int, str, bool]] = []
        writers: dict[str, list[int]] = {}
        for position, stmt in enumerate(body):
            for name in names_written(stmt):
                writers.setdefault(name, []).append(position)
            candidate = _candidate(analysis, stmt, body, position)
            if candidate is not None:
                candidates.append((position, candidate.target, candidate.fixable))
        table = tables[id(body)] = _BlockTable(candidates, [c[0] for c in candidates], writers)
    return table


def _candidate(analysis: Analysis, stmt: ast.stmt, body: list[ast.stmt], index: int | None = None) -> _Candidate | None:
    """``name = <value derived from a graph>`` alone on its line (``index``: its position in ``body``)."""
    if not isinstance(stmt, ast.Assign) or len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Name):
        return None
    if not (alone_on_its_lines(stmt, body) if index is None else _alone_at(body, index)):
        return None
    value = stmt.value
    if not _derived(analysis, value) or not analysis.value(value).carries:
        return None
    return _Candidate(stmt, stmt.targets[0].id, _pure(analysis, value))


def _alone_at(block: list[ast.stmt], index: int) -> bool:
    """:func:`alone_on_its_lines` of ``block[index]``, without looking for its position."""
    stmt = block[index]
    if index and block[index - 1].end_lineno == stmt.lineno:
        return False
    return not (index + 1 < len(block) and block[index + 1].lineno == stmt.end_lineno)


def _closure(chosen: list[_Candidate], direct: set[str]) -> list[_Candidate]:
    """The candidates the directly used ones need, in source order."""
    needed = set(direct)
    keep: list[_Candidate] = []
    for candidate in reversed(chosen):
        if candidate.target in needed:
            keep.append(candidate)
            needed |= names_read(candidate.assign.value)
    keep.reverse()
    return keep


def _derived(analysis: Analysis, value: ast.expr) -> bool:
    """A computation on tensors (a module's output, a helper's result), not a name, a new leaf,
    a module, or an optimizer."""
    if isinstance(value, (ast.BinOp, ast.UnaryOp, ast.Subscript)):
        return True
    if not isinstance(value, ast.Call):
        return False
    if analysis.value(value.func).kind is Kind.MODULE:
        return True
    qualified = analysis.qualify(value.func)
    if qualified is not None:
        return _derived_call(qualified, value)
    if isinstance(value.func, ast.Attribute):
        return value.func.attr not in _NOT_DERIVED_METHODS
    return isinstance(value.func, ast.Name) and value.func.id in analysis.functions


def _derived_call(qualified: str, call: ast.Call) -> bool:
    """:func:`_derived` of a call of an imported name: a torch computation, not an optimizer,
    a data utility, a module or a new leaf."""
    if not qualified.startswith("torch."):
        return False
    last = qualified.rsplit(".", 1)[-1]
    if qualified.startswith("torch.distributions."):
        return last[:1].isupper()
    if qualified.startswith(("torch.optim", "torch.utils", "torch.nn.Parameter", "torch.cuda", "torch.jit")):
        return False
    if qualified.startswith("torch.nn.") and last[:1].isupper():
        return False
    return not any(k.arg == "requires_grad" for k in call.keywords)


def _pure(analysis: Analysis, value: ast.AST, depth: int = 0) -> bool:
    """Recomputing ``value`` gives the same result: torch ops (directly or in this file's small
    helper functions) only, no draws, no modules, no in-place."""
    for node in walk(value):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        qualified = analysis.qualify(func)
        if qualified is None and isinstance(func, ast.Name) and func.id in analysis.functions:
            if depth < _HELPER_DEPTH and _pure_helper(analysis, analysis.functions[func.id], depth + 1):
                continue
            return False
        last = qualified.rsplit(".", 1)[-1] if qualified else (func.attr if isinstance(func, ast.Attribute) else None)
        if last is None or last in _RANDOM:
            return False
        if qualified is not None:
            if not qualified.startswith("torch.") or (
                qualified.startswith("torch.nn.") and last[:1].isupper() and not qualified.startswith("torch.nn.functional")
            ):
                return False
            continue
        receiver = func.value  # type: ignore[attr-defined]
        if last.endswith("_") or analysis.value(receiver).kind is Kind.MODULE:
            return False
        if isinstance(receiver, ast.Name) and receiver.id == "self":
            return False  # a method of the object: could do anything
    return True


def _pure_helper(analysis: Analysis, function, depth: int) -> bool:
    """A function of this file that only computes from its parameters: assignments and a
    return of pure expressions, no globals but imports."""
    parameters = {a.arg for a in (*function.args.posonlyargs, *function.args.args, *function.args.kwonlyargs)}
    if function.decorator_list or function.args.vararg or function.args.kwarg:
        return False
    local = set(parameters)
    for index, stmt in enumerate(function.body):
        if index == 0 and isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue  # docstring
        if isinstance(stmt, ast.Assign) and all(isinstance(t, ast.Name) for t in stmt.targets):
            value = stmt.value
        elif isinstance(stmt, ast.Return) and stmt.value is not None:
            value = stmt.value
        else:
            return False
        free = {n for n in names_read(value) if "." not in n} - local - set(analysis.imports.aliases) - set(analysis.functions)
        if free or not _pure(analysis, value, depth):
            return False
        if isinstance(stmt, ast.Assign):
            local |= {t.id for t in stmt.targets}  # type: ignore[attr-defined]
    return True


def _rebound(loop: ast.AST) -> set[str]:
    """Names the loop binds to a new object (`x = ...`, `for x in`), not updates in place."""
    out: set[str] = set(loop_targets(loop))
    for node in walk(loop):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, (ast.Name, ast.Tuple, ast.List)):
                    out |= target_names(target)
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
            out |= target_names(node.target)
    return out


def _updates(loop: ast.AST, inputs: set[str]) -> bool:
    """The loop steps an optimizer or updates one of the inputs in place (`w -= lr * w.grad`)."""
    steps = any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "step" for n in walk(loop)
    )
    return steps or bool(names_written(loop.body) & inputs)  # type: ignore[attr-defined]


def _contains(outer: ast.AST, inner: ast.AST) -> bool:
    return any(node is inner for node in ast.walk(outer))


def _insertion_loop(loop, backwards, targets: set[str]):
    """The innermost loop (``loop`` or one nested in it) holding every backward and every use."""
    uses = [n for n in walk(loop) if isinstance(n, (ast.Name, ast.Attribute)) and names_read(n) & targets]
    best = None
    for node in walk(loop):
        if isinstance(node, LOOPS):
            inside = {id(n) for n in ast.walk(node)}  # once per loop, not one walk per call and use
            if all(id(c) in inside for c in backwards) and all(id(u) in inside for u in uses):
                best = node
    if best is None or not has_indented_body(best):
        return None
    return best


def _reads_outside_body(loop, inner) -> set[str]:
    """Names ``loop`` reads outside the body of ``inner`` (loop headers, ``else`` blocks, code
    around a nested ``inner``): they still see the value from before the loop."""
    skip = {id(s) for s in inner.body}
    found: set[str] = set()
    stack: list[ast.AST] = [loop]
    while stack:
        node = stack.pop()
        if id(node) in skip or (node is not loop and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))):
            continue
        if isinstance(node, ast.expr):
            found |= names_read(node)
        else:
            stack.extend(ast.iter_child_nodes(node))
    return found


def _plan_fix(analysis: Analysis, body, loop, inner, chosen: list[_Candidate], backwards, retained) -> LazyFix:
    """Decide what moves and what is copied (a name still read where the old value is
    needed keeps its original), and whether retain_graph=True goes."""
    chosen_ids = {id(c.assign) for c in chosen}
    outside = [s for s in body if id(s) not in chosen_ids and s is not loop]
    read_elsewhere = set().union(*(free_reads(s) for s in outside)) | reads_after(analysis.parent, loop) | _reads_outside_body(loop, inner)
    plan = [(c.assign, c.target not in read_elsewhere) for c in chosen]
    # Drop retain_graph=True when it only served the reused graph.
    drop = retained[0] if len(backwards) == 1 and len(retained) == 1 and not loop_carried(inner) else None
    what = "recompute at the top of the loop body" + (" and drop retain_graph=True" if drop is not None else "")
    return LazyFix(partial(_fix, loop=loop, inner=inner, plan=plan, drop=drop, what=what), Applicability.SAFE, what)


def _statement_node(ctx, node: ast.stmt):
    """The LibCST statement of an ``ast`` compound statement (found through its header)."""
    found = ctx.node_for(node)
    if found is not None:
        return found
    header = node.test if isinstance(node, ast.While) else node.iter
    expr = ctx.node_for(header)
    kind = cst.While if isinstance(node, ast.While) else cst.For
    for ancestor in ctx.ancestors(expr) if expr is not None else ():
        if isinstance(ancestor, kind):
            return ancestor
    return None


def _fix(ctx, loop, inner, plan, drop, what) -> Fix | None:
    cst_loop, cst_inner = _statement_node(ctx, loop), _statement_node(ctx, inner)
    if cst_loop is None or cst_inner is None or not isinstance(cst_inner.body, cst.IndentedBlock):
        return None
    parent = ctx.parent(cst_loop)
    if not isinstance(parent, (cst.IndentedBlock, cst.Module)):
        return None
    body = list(parent.body)
    index = next(i for i, s in enumerate(body) if s is cst_loop)
    moved: set[int] = set()
    copies = []
    for assign, move in plan:
        small = ctx.node_for(assign)
        line = ctx.parent(small) if small is not None else None
        if not isinstance(line, cst.SimpleStatementLine):
            return None
        if move:
            comments = [l for l in line.leading_lines if l.comment is not None]
            copies.append(line.with_changes(leading_lines=comments))
            moved.add(id(line))
        else:
            copies.append(line.with_changes(leading_lines=()))
    block = cst_inner.body
    if drop is not None:
        call = ctx.node_for(drop)
        if not isinstance(call, cst.Call):
            return None
        block = block.deep_replace(call, call.with_changes(args=_without_retain_graph(call.args)))
    block = block.with_changes(body=[*copies, *block.body])
    new_loop = cst_loop.with_changes(body=block) if cst_inner is cst_loop else cst_loop.deep_replace(cst_inner.body, block)
    # A removed line's blank lines stay where they were: on the next statement that stays.
    edits: list[tuple[cst.CSTNode, object]] = []
    pending: list[cst.EmptyLine] = []
    for stmt in body[: index + 1]:
        if id(stmt) in moved:
            pending.extend(l for l in stmt.leading_lines if l.comment is None)
            edits.append((stmt, cst.RemoveFromParent()))
            continue
        if pending:
            if stmt is cst_loop:
                new_loop = new_loop.with_changes(leading_lines=[*pending, *new_loop.leading_lines])
            else:
                edits.append((stmt, stmt.with_changes(leading_lines=[*pending, *stmt.leading_lines])))
            pending = []
    edits.append((cst_loop, new_loop))
    return Fix(edits, Applicability.SAFE, what)  # type: ignore[arg-type]


def _without_retain_graph(args):
    kept = [a for a in args if not (a.keyword is not None and a.keyword.value == "retain_graph")]
    if kept:
        kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return kept


def _may_step_a_closure(tree: ast.Module, may_be_candidate) -> bool:
    """`_stepped_closures`' syntax: ``x.step(fn)`` of a ``def fn`` that calls ``backward`` or
    ``grad``, with a statement that may be a candidate before the ``def`` in its block."""
    stepped = {c.args[0].id for c in calls_named(tree, ("step",)) if len(c.args) == 1 and isinstance(c.args[0], ast.Name)}
    if not stepped:
        return False
    parents = parents_of(tree)
    for function in nodes_of(tree, ast.FunctionDef, ast.AsyncFunctionDef):
        if function.name not in stepped or not calls_named(function, ("backward", "grad")):  # type: ignore[attr-defined]
            continue
        parent = parents.get(id(function))
        for field in _BLOCK_FIELDS:
            block = getattr(parent, field, None)
            if isinstance(block, list) and function in block:
                if any(may_be_candidate(block, position) for position in range(len(block)) if block[position] is not function):
                    return True
                break
    return False


def _stepped_closures(analysis: Analysis) -> dict[int, ast.Call]:
    """``def`` id -> the ``optimizer.step(fn)`` call that runs it, for each function of the
    file that backpropagates in its own body and that an optimizer step calls repeatedly: an
    LBFGS step, or a step inside a loop."""
    found: dict[int, ast.Call] = {}
    for call in calls_named(analysis.tree, ("step",)):
        if not (isinstance(call.func, ast.Attribute) and len(call.args) == 1 and isinstance(call.args[0], ast.Name)):
            continue
        receiver = analysis.value(call.func.value)
        if receiver.kind is not Kind.OPTIMIZER:
            continue
        scope = analysis.enclosing_function(call) or analysis.tree
        function = next(
            (s for s in scope.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and s.name == call.args[0].id), None
        )
        if function is None or not backward_calls(analysis, function):
            continue
        in_loop = any(isinstance(a, LOOPS) for a in _ancestors_in(analysis, call, scope))
        if (receiver.name == "LBFGS" or in_loop) and id(function) not in found:
            found[id(function)] = call
    return found


def _held_names(analysis: Analysis, optimizer: ast.expr) -> set[str]:
    """The names the construction of ``optimizer`` reads (``LBFGS([w])``: w;
    ``LBFGS(model.parameters())``: model), from its assignments in the file."""
    name = dotted(optimizer)
    held: set[str] = set()
    for stmt in analysis.nodes(ast.Assign):
        if len(stmt.targets) == 1 and dotted(stmt.targets[0]) == name and isinstance(stmt.value, ast.Call):
            held |= {n.split(".")[0] for n in names_read([*stmt.value.args, *(k.value for k in stmt.value.keywords)])}
    return held


def _ancestors_in(analysis: Analysis, node: ast.AST, scope: ast.AST):
    for ancestor in analysis.ancestors(node):
        if ancestor is scope:
            return
        yield ancestor


def _in_block(analysis: Analysis, node: ast.AST, block: list[ast.stmt]) -> ast.stmt | None:
    """The statement of ``block`` that holds ``node``."""
    members = {id(s) for s in block}
    for ancestor in [node, *analysis.ancestors(node)]:
        if id(ancestor) in members:
            return ancestor  # type: ignore[return-value]
    return None


def _loops_around_backward(analysis: Analysis) -> set[int]:
    """Ids of the loops that hold a backward call in their own scope: the loops `_loop` can report.

    From the backward calls up, instead of a walk of every loop of the file.
    """
    found: set[int] = set()
    for call in file_backward_calls(analysis):
        node = analysis.parent(call)
        while node is not None and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            if isinstance(node, LOOPS):
                found.add(id(node))
            node = analysis.parent(node)
    return found
