"""GF106 graph-reuse."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

import libcst as cst

from gradfix.rule import Applicability, Fix, Rule

from ._graph import Carry, flow_for
from ._loops import (
    LOOPS,
    backward_calls,
    backward_roots,
    block_body,
    flows_into,
    loop_targets,
    mentions,
    names_read,
    names_written,
    statements,
    target_names,
    walk,
)
from ._names import imports, is_true, keyword

# Calls that draw random numbers: moving them would change what every later draw returns.
_RANDOM = {
    "rand", "randn", "randint", "randperm", "normal", "bernoulli", "multinomial", "poisson",
    "rand_like", "randn_like", "randint_like", "dropout", "sample", "rsample", "normal_",
    "uniform_", "bernoulli_", "random_", "exponential_", "cauchy_", "geometric_", "log_normal_",
    "shuffle", "choice", "feature_alpha_dropout", "alpha_dropout", "gumbel_softmax",
}
# Top-level calls whose result is a new leaf or object, not a value derived from one.
_NOT_DERIVED_METHODS = {"to", "cuda", "cpu", "detach", "requires_grad_", "type", "double", "float", "half", "bfloat16"}


@dataclass
class _Candidate:
    line: cst.SimpleStatementLine
    assign: cst.Assign
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

    Fix safety: safe when the statements are plain tensor/distribution computations whose
    inputs do not change before the loop; otherwise (a module call, a random draw, an input
    changed on the way) the finding has no fix.
    """

    code = "GF106"
    name = "graph-reuse"
    summary = "a tensor derived from Parameters before a training loop is reused after backward(); recompute it in the loop"
    trigger = re.compile(r"\bbackward\s*\(|autograd\.grad\s*\(")

    @staticmethod
    def quick_check(tree: ast.Module) -> bool:
        """A loop that calls backward (or autograd.grad) and follows another statement in its block."""
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            if not isinstance(body, list):
                continue
            for index, stmt in enumerate(body):
                if index and isinstance(stmt, (ast.For, ast.While)) and any(
                    isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in ("backward", "grad")
                    for n in ast.walk(stmt)
                ):
                    return True
        return False

    def check(self, ctx):
        if not imports(ctx).imports_module("torch"):
            return
        for node in walk(ctx.module, into_scopes=True):
            body = block_body(node)
            if not body:
                continue
            for index, stmt in enumerate(body):
                if isinstance(stmt, LOOPS):
                    finding = self._loop(ctx, body, index)
                    if finding is not None:
                        yield finding

    def _loop(self, ctx, body, index):
        loop = body[index]
        backwards = backward_calls(ctx, loop)
        if not backwards:
            return None
        loop_writes = names_written(loop)
        needed = names_read(loop) - loop_writes
        chosen: list[_Candidate] = []
        for position in range(index - 1, -1, -1):
            line = body[position]
            candidate = self._candidate(ctx, line)
            if candidate is None or candidate.target not in needed or candidate.target in loop_writes:
                continue
            later = body[position + 1 : index]
            later_writes = set()
            for stmt in later:
                later_writes |= names_written(stmt)
            if candidate.target in later_writes:
                continue  # rebound on the way: not the value the loop sees
            inputs = names_read(candidate.assign.value)
            if candidate.target in inputs:
                continue  # `w = w * 0.01` rebinds a leaf's name (GF104), recomputing it would compound
            if inputs & (later_writes | _rebound(loop)):
                candidate.fixable = False
            chosen.append(candidate)
            needed |= inputs
        if not chosen:
            return None
        chosen.reverse()
        # Only values that reach a backward root in the loop matter.
        direct = {c.target for c in chosen} & names_read(loop)
        reached = flows_into(list(statements(loop)), direct)
        roots = [root for call in backwards for root in backward_roots(call)]
        if not any(mentions(root, reached) for root in roots):
            return None
        chosen = _closure(chosen, {t for t in direct if _mentions_any(roots, flows_into(list(statements(loop)), {t}))})
        if not chosen:
            return None
        inner = _insertion_loop(ctx, loop, backwards, {c.target for c in chosen})
        inputs = set().union(*(names_read(c.assign.value) for c in chosen))
        if not _updates(loop, inputs):
            return None  # nothing changes between iterations: reuse is wasteful at most
        fixable = all(c.fixable for c in chosen) and inner is not None
        if inner is not None:
            outside_inner = names_written(loop) - names_written(inner.body) - loop_targets(inner)
            on_path = set().union(*(loop_targets(n) for n in walk(loop) if isinstance(n, LOOPS) and _contains(n, inner)))
            if inputs & (outside_inner | on_path | loop_targets(inner)):
                fixable = False
        retained = [c for c in backwards if is_true(getattr(keyword(c, "retain_graph"), "value", None))]
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
        fix = self._fix(ctx, body, index, inner, chosen, backwards, retained) if fixable else None
        if fix is None:
            message += (
                " (no automatic fix: a module call, a random draw or an input that changes on the way "
                "makes moving it unprovable)"
            )
        return self.finding(chosen[0].assign, message, fix)

    def _candidate(self, ctx, line) -> _Candidate | None:
        if not isinstance(line, cst.SimpleStatementLine) or len(line.body) != 1:
            return None
        assign = line.body[0]
        if not isinstance(assign, cst.Assign) or len(assign.targets) != 1:
            return None
        target = assign.targets[0].target
        if not isinstance(target, cst.Name):
            return None
        value = assign.value
        flow = flow_for(ctx, assign)
        if not _derived(ctx, flow, value, assign):
            return None
        if flow.carries(value, assign) is not Carry.YES:
            return None
        return _Candidate(line, assign, target.value, _pure(ctx, flow, value, assign))

    def _fix(self, ctx, body, index, inner, chosen, backwards, retained) -> Fix:
        loop = body[index]
        chosen_lines = {id(c.line) for c in chosen}
        outside = [s for s in body if id(s) not in chosen_lines and s is not loop]
        read_elsewhere = set().union(*(names_read(s) for s in outside)) if outside else set()
        read_elsewhere |= _reads_after(ctx, loop)
        # Loop headers (a `while` test, a `for` iterable) and code outside the insertion loop
        # still read the name before the recompute: keep the original there.
        placeholder = cst.IndentedBlock([cst.SimpleStatementLine([cst.Pass()])])
        read_elsewhere |= names_read(loop.deep_replace(inner.body, placeholder))
        moved: set[int] = set()
        copies = []
        for candidate in chosen:
            line = candidate.line
            if candidate.target in read_elsewhere:
                copies.append(line.with_changes(leading_lines=()))
            else:
                comments = [l for l in line.leading_lines if l.comment is not None]
                copies.append(line.with_changes(leading_lines=comments))
                moved.add(id(line))
        # Drop retain_graph=True when it only served the reused graph.
        drop = len(backwards) == 1 and len(retained) == 1 and not _loop_carried(inner)
        block = inner.body
        if drop:
            block = block.deep_replace(retained[0], retained[0].with_changes(args=_without_retain_graph(retained[0].args)))
        block = block.with_changes(body=[*copies, *block.body])
        new_loop = loop.with_changes(body=block) if inner is loop else loop.deep_replace(inner.body, block)
        # A removed line's blank lines stay where they were: on the next statement that stays.
        edits: list[tuple[cst.CSTNode, object]] = []
        pending: list[cst.EmptyLine] = []
        for stmt in body[: index + 1]:
            if id(stmt) in moved:
                pending.extend(l for l in stmt.leading_lines if l.comment is None)
                edits.append((stmt, cst.RemoveFromParent()))
                continue
            if pending:
                if stmt is loop:
                    new_loop = new_loop.with_changes(leading_lines=[*pending, *new_loop.leading_lines])
                else:
                    edits.append((stmt, stmt.with_changes(leading_lines=[*pending, *stmt.leading_lines])))
                pending = []
        edits.append((loop, new_loop))
        what = "recompute at the top of the loop body"
        if drop:
            what += " and drop retain_graph=True"
        return Fix(edits, Applicability.SAFE, what)  # type: ignore[arg-type]


def _mentions_any(roots, names: set[str]) -> bool:
    return any(mentions(root, names) for root in roots)


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


def _derived(ctx, flow, value: cst.BaseExpression, at: cst.CSTNode) -> bool:
    """A computation on tensors (or a module's output), not a name, a new leaf, a module, or an optimizer."""
    if isinstance(value, (cst.BinaryOperation, cst.UnaryOperation, cst.Subscript)):
        return True
    if not isinstance(value, cst.Call):
        return False
    if flow.carries(value.func, at) is Carry.MODULE:
        return True
    qualified = imports(ctx).qualify(value.func)
    if qualified is not None:
        if not qualified.startswith("torch."):
            return False
        last = qualified.rsplit(".", 1)[-1]
        if qualified.startswith("torch.distributions."):
            return last[:1].isupper()
        if qualified.startswith(("torch.optim", "torch.utils", "torch.nn.Parameter", "torch.cuda", "torch.jit")):
            return False
        if qualified.startswith("torch.nn.") and last[:1].isupper():
            return False
        if keyword(value, "requires_grad") is not None:
            return False
        return True
    if isinstance(value.func, cst.Attribute):
        return value.func.attr.value not in _NOT_DERIVED_METHODS
    return False


def _pure(ctx, flow, value: cst.BaseExpression, at: cst.CSTNode) -> bool:
    """Recomputing ``value`` gives the same result: torch ops only, no draws, no modules, no in-place."""
    names = imports(ctx)
    for node in walk(value):
        if not isinstance(node, cst.Call):
            continue
        qualified = names.qualify(node.func)
        last = (qualified or "").rsplit(".", 1)[-1] if qualified else (
            node.func.attr.value if isinstance(node.func, cst.Attribute) else None
        )
        if last is None or last in _RANDOM:
            return False
        if qualified is not None:
            if not qualified.startswith("torch.") or (qualified.startswith("torch.nn.") and last[:1].isupper()
                                                      and not qualified.startswith("torch.nn.functional")):
                return False
            continue
        if last.endswith("_") or flow.carries(node.func.value, at) is Carry.MODULE:  # type: ignore[union-attr]
            return False
        receiver = node.func.value  # type: ignore[union-attr]
        if isinstance(receiver, cst.Name) and receiver.value == "self":
            return False  # a method of the object: could do anything
    return True


def _rebound(loop) -> set[str]:
    """Names the loop binds to a new object (`x = ...`, `for x in`), not updates in place."""
    out: set[str] = set(loop_targets(loop))
    for node in walk(loop):
        if isinstance(node, cst.Assign):
            for target in node.targets:
                if isinstance(target.target, (cst.Name, cst.Tuple, cst.List)):
                    out |= target_names(target.target)
        elif isinstance(node, (cst.For, cst.CompFor)):
            out |= target_names(node.target)
    return out


def _updates(loop, inputs: set[str]) -> bool:
    """The loop steps an optimizer or updates one of the inputs in place (`w -= lr * w.grad`)."""
    steps = any(
        isinstance(n, cst.Call) and isinstance(n.func, cst.Attribute) and n.func.attr.value == "step"
        for n in walk(loop)
    )
    return steps or bool(names_written(loop.body) & inputs)


def _contains(outer: cst.CSTNode, inner: cst.CSTNode) -> bool:
    return any(node is inner for node in walk(outer, into_scopes=True))


def _insertion_loop(ctx, loop, backwards, targets: set[str]):
    """The innermost loop (``loop`` or one nested in it) holding every backward and every use."""
    uses = [n for n in walk(loop) if isinstance(n, (cst.Name, cst.Attribute)) and names_read(n) & targets]
    best = None
    for node in walk(loop):
        if isinstance(node, LOOPS) and all(_contains(node, c) for c in backwards) and all(_contains(node, u) for u in uses):
            best = node
    if best is None or not isinstance(best.body, cst.IndentedBlock) or not best.body.body:
        return None
    return best


def _reads_after(ctx, loop) -> set[str]:
    """Names read by statements that run after ``loop`` in the enclosing blocks."""
    out: set[str] = set()
    child = loop
    for ancestor in ctx.ancestors(loop):
        body = block_body(ancestor)
        if body is not None:
            seen = False
            for stmt in body:
                if stmt is child:
                    seen = True
                elif seen:
                    out |= names_read(stmt)
        if isinstance(ancestor, (cst.FunctionDef, cst.Module)):
            break
        if isinstance(ancestor, LOOPS):
            out |= names_read(ancestor)  # an enclosing loop runs the code before ours again
        child = ancestor
    return out


def _loop_carried(loop) -> bool:
    """Whether a name is read in the loop body before the body assigns it (a value from the
    previous iteration, which may hold that iteration's graph)."""
    written = names_written(loop.body)
    assigned: set[str] = set(loop_targets(loop))
    for stmt in statements(loop.body):
        if isinstance(stmt, cst.BaseSmallStatement):
            reads = names_read(stmt.value) if isinstance(stmt, (cst.Assign, cst.AugAssign)) else names_read(stmt)
            if isinstance(stmt, cst.AugAssign):
                reads |= names_read(stmt.target)
            if (reads & written) - assigned:
                return True
            assigned |= names_written(stmt)
        elif isinstance(stmt, cst.For):
            assigned |= loop_targets(stmt)
    return False


def _without_retain_graph(args):
    kept = [a for a in args if not (a.keyword is not None and a.keyword.value == "retain_graph")]
    if kept:
        kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return kept
