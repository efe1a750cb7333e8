"""GF113 graph-across-steps."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import partial

import libcst as cst

from gradfix.rule import Applicability, Fix, LazyFix, Rule

from ._ast import backward_loops, nodes_of, walked
from ._flow_ast import (
    COMPOUND,
    LOOPS,
    backward_calls,
    backward_roots,
    block_of,
    carried_names,
    flows_into,
    keyword,
    loop_targets,
    mentions,
    names_read,
    names_written,
    statements,
    step_calls,
    target_names,
    walk,
)
from ._text import ANYTHING, BACKPROP, calls_backward
from ._uses import fresh_name
from ._values import Analysis, Graph, Kind, dotted
from .gf106_graph_reuse import _without_retain_graph

# Reads that take no graph along: `h.detach()`, `h.shape`, `h is None`, `len(h)`.
_CUT_METHODS = {"detach", "detach_", "item", "tolist", "numpy", "size", "dim", "numel"}
_CUT_ATTRIBUTES = {"data", "shape", "dtype", "device", "grad", "requires_grad", "is_cuda", "ndim", "grad_fn"}
_CUT_BUILTINS = {"len", "isinstance", "type", "id", "print", "repr", "str"}


@dataclass
class _Pair:
    """Two backward calls of one iteration whose roots share one graph-carrying value."""

    first: ast.Call
    second: ast.Call
    shared: list[str]
    stepped: list[ast.Call]  # optimizer.step() calls between them
    # When weights are updated between them: each read of a shared value after the update, with
    # the expression that computed it (the forward, recomputed at the new weights).
    recompute: list[tuple[ast.Name, ast.expr]] | None = None


class GraphAcrossSteps(Rule):
    """
    A value that carries an autograd graph survives into the next training step and is
    backpropagated through again.

    `backward()` frees the graph it went through. A value that still refers to that graph
    and is used in the next step makes the next `backward()` raise "Trying to backward
    through the graph a second time". Three shapes do this:

    - a recurrent state carried from batch to batch (`out, h = rnn(x, h)`, an LSTM's
      `(h, c)` tuple, `self.hidden`) and never detached;
    - a generator's output used by the discriminator step (`netD(fake)`) and again by the
      generator step: the first backward frees the generator's graph (and, if it ran, it
      would have given the generator the discriminator's gradients);
    - two losses of one forward backpropagated one after the other, the first without
      `retain_graph=True`; with it, an `optimizer.step()` between them changes in place
      weights the graph saved, and the second raises "modified by an inplace operation".

    The error suggests `retain_graph=True`. On a carried state that is the wrong fix: every
    `backward()` then goes back into all earlier batches through stale graphs (after
    `optimizer.step()` it raises "modified by an inplace operation"), and the graph, with
    its memory, grows with every batch.

    The fix detaches the carried state where it is stored (after its last use in the step:
    truncated backprop through time), keeping its structure (`tuple(state.detach() for
    state in hidden)` for an LSTM), and drops the `retain_graph=True` that hid the error;
    it detaches the discriminator step's input (`netD(fake.detach())`); and for two losses
    of one forward with nothing stepped between them it adds `retain_graph=True` to the
    first `backward()`, which is what "share one graph" means. `detach()` does not change
    values: the forward is bitwise equal at every step.

    Bad:

        hidden = None
        for x, y in loader:
            out, hidden = rnn(x, hidden)
            loss = criterion(head(out), y)
            optimizer.zero_grad()
            loss.backward()          # batch 2: backward through batch 1's freed graph
            optimizer.step()

    Good:

        hidden = None
        for x, y in loader:
            out, hidden = rnn(x, hidden)
            hidden = hidden.detach()
            loss = criterion(head(out), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    Fix safety: every fix keeps the forward bitwise equal at every step (`detach()` and
    `retain_graph=True` change no values). Detaching a carried state is safe when the
    original raises: the first step is bitwise equal in its gradients too, and later steps
    run instead of raising. It is unsafe when it also drops the user's `retain_graph=True`:
    the gradients of the second and later steps change (they no longer reach into earlier
    batches). Detaching the discriminator's input is safe when the original raises, and
    unsafe when `retain_graph=True` had hidden the error (the generator's gradients change
    from the first step: they lose the discriminator's share). Adding `retain_graph=True`
    between two losses with nothing stepped between them is safe (the gradients add up as
    for the sum of the losses). When the weights are updated between the two passes
    (`optimizer.step()`, or an optimizer's own `first_step()` as in SAM), the second pass
    must see the new weights: when it reads the forward's output once, the unsafe fix
    recomputes it there (`criterion(model(x), y).backward()`; the second pass's values change,
    as intended). Another update between two passes over one graph, a state of unknown
    structure, or a discriminator step that cannot be told apart from the generator step is
    reported without a fix.
    """

    code = "GF113"
    name = "graph-across-steps"
    summary = "a value carrying a graph is backpropagated through again in a later step; detach it where it is kept"
    # Every finding needs a loop with a backward call in it (``backward_calls(analysis, loop)``,
    # also for a module's state: ``_training_loop_calling``): the file spells one
    # (``calls_backward``: ``x.backward(``, or torch.autograd's grad/backward).
    requires = (BACKPROP,)  # (calls_backward says the rest; one group for every backprop rule)
    trigger = ANYTHING
    text_check = staticmethod(calls_backward)

    @staticmethod
    def quick_check(tree: ast.Module) -> bool:
        """What each shape needs, from the syntax: a loop around a backward call (in the call's
        scope, what ``backward_calls`` walks) that carries a name into the next iteration
        (``_carries``: ``carried_names``) or holds two backward calls (``_pairs``); or a
        ``forward`` that stores a ``self`` attribute it reads (``_module_state``)."""
        loops = backward_loops(tree)
        if not loops:
            return False
        calls_in: dict[int, int] = {}  # loop id -> backward calls in it (one entry per call and loop around it)
        for loop, _ in loops:
            calls_in[id(loop)] = calls_in.get(id(loop), 0) + 1
            if calls_in[id(loop)] > 1:
                return True
        for loop in {id(loop): loop for loop, _ in loops}.values():
            if _may_carry(loop) and set(carried_names(loop, branches=True)) - {"self"}:
                return True
        return any(_stores_what_it_reads(f) for f in nodes_of(tree, ast.FunctionDef, ast.AsyncFunctionDef) if f.name == "forward")  # type: ignore[attr-defined]

    def detect(self, analysis: Analysis):
        if not analysis.imports.imports_module("torch"):
            return
        loops = sorted(analysis.nodes(*LOOPS), key=lambda loop: -sum(1 for _ in analysis.ancestors(loop)))
        seen_stores: set[int] = set()
        for loop in loops:
            backwards = backward_calls(analysis, loop)  # a table lookup: before the look up the ancestors
            if not backwards or analysis.grad_disabled(loop):
                continue
            yield from self._carries(analysis, loop, backwards, seen_stores)
            yield from self._pairs(analysis, loop)
        yield from self._module_state(analysis)

    # A state carried from one iteration to the next --------------------------------------
    def _carries(self, analysis: Analysis, loop, backwards: list[ast.Call], seen_stores: set[int]):
        body: list[ast.stmt] | None = None  # the loop's statements, listed when a carried name needs them
        by_store: dict[int, tuple[ast.Assign, list[str]]] = {}
        for name, first_read in carried_names(loop, branches=True).items():
            if name == "self" or not _carried_graph_read(analysis, loop, name, first_read):
                continue
            store = _last_store(loop, name)
            if store is None or id(store) in seen_stores or analysis.grad_disabled(store) or not _store_targets(store, name):
                continue  # (no target node: an element write `h[i] = ...`, not a new state)
            if not _stored_value(analysis, store, name).carries:
                continue
            if body is None:
                body = list(statements(loop.body))
            tainted = flows_into(body, {name}, _graph_mentions(analysis))
            if not any(mentions(root, tainted) for call in backwards for root in backward_roots(analysis, call)):
                continue
            by_store.setdefault(id(store), (store, []))[1].append(name)
        for store, names in by_store.values():
            seen_stores.add(id(store))
            names.sort(key=lambda n: _target_order(store, n))
            finding = self._carry_finding(analysis, loop, backwards, store, names)
            if finding is not None:
                yield finding

    def _carry_finding(self, analysis: Analysis, loop, backwards, store: ast.Assign, names: list[str]):
        relevant = [
            call for call in backwards
            if any(mentions(root, flows_into(list(statements(loop.body)), set(names), _graph_mentions(analysis))) for root in backward_roots(analysis, call))
        ]
        retained = [call for call in relevant if _is_true(keyword(call, "retain_graph"))]
        # create_graph=True keeps the graph: a differentiable inner loop (MAML) backpropagates through it later.
        freeing = [c for c in relevant if c not in retained and not _is_true(keyword(c, "create_graph"))]
        shown = ", ".join(f"`{n}`" for n in names)
        verb = "carry" if len(names) > 1 else "carries"
        call = _call_label(freeing or retained)
        if not freeing and (not retained or not step_calls(loop.body)):
            return None  # higher-order gradients, or full backprop through the sequence stepped after the loop
        if not freeing:
            message = (
                f"{shown} {verb} each step's graph into the next, and `retain_graph=True` hides the error: "
                f"every {call} goes back into all earlier batches through stale graphs (after `step()` it raises "
                "\"modified by an inplace operation\") and memory grows with every batch; detach the state where it is "
                "stored and drop `retain_graph=True`"
            )
        else:
            message = (
                f"{shown} {verb} this step's graph into the next iteration: the next {call} goes through the "
                "freed graph of the previous step and raises \"Trying to backward through the graph a second time\"; "
                "detach the state where it is stored"
            )
            retained = []
        statement = _detach_line(analysis, store, names)
        anchor = _anchor(analysis, loop, store, names)
        drop = retained if retained and len(backwards) == len(retained) else []
        fix = None
        if statement is not None and anchor is not None:
            applicability = Applicability.UNSAFE if retained else Applicability.SAFE
            fix = LazyFix(
                partial(_insert_after, anchor=anchor, statement=statement, drop=drop, applicability=applicability),
                applicability,
                f"detach the carried state: `{statement}`",
            )
        else:
            message += _no_fix_reason(statement)
        return self.finding(store, message, fix)

    # Two backward calls of one iteration over one graph -------------------------------
    def _pairs(self, analysis: Analysis, loop):
        body = loop.body
        own = [call for call in backward_calls(analysis, body) if _nearest_loop(analysis, call) is loop]
        for first, second in zip(own, own[1:]):
            pair = _pair(analysis, loop, first, second)
            if pair is None:
                continue
            finding = self._pair_finding(analysis, loop, pair)
            if finding is not None:
                yield finding

    def _pair_finding(self, analysis: Analysis, loop, pair: _Pair):
        retained = _is_true(keyword(pair.first, "retain_graph")) or _is_true(keyword(pair.first, "create_graph"))
        step = _discriminator_step(analysis, loop, pair)
        if step is not None:
            call, source, backward = step
            fake = ast.unparse(source)
            drop = None
            if retained:
                if backward is not pair.first or _generator_zeroed(analysis, loop, pair, source.id):
                    return None  # the generator's copy of the discriminator's gradients is cleared before its step
                message = (
                    f"`{fake}` carries the generator's graph into the discriminator step and `retain_graph=True` hides the "
                    "error: the discriminator's loss sends its gradients into the generator, which its own step then "
                    f"adds to and applies; use `{fake}.detach()` in the discriminator step and drop `retain_graph=True`"
                )
                drop = pair.first
            else:
                message = (
                    f"`{fake}` carries the generator's graph into the discriminator step: its `backward()` frees that graph "
                    f"(and sends the discriminator's gradients into the generator), so the other step's `backward()` raises "
                    f"\"Trying to backward through the graph a second time\"; use `{fake}.detach()` in the discriminator step"
                )
            fix = None
            if analysis.value(source).is_tensor:
                applicability = Applicability.UNSAFE if retained else Applicability.SAFE
                fix = LazyFix(
                    partial(_detach_argument, argument=source, drop=drop, applicability=applicability),
                    applicability,
                    f"detach `{fake}` in the discriminator step",
                )
            return self.finding(call, message, fix)
        shown = ", ".join(f"`{n}`" for n in pair.shared)
        if pair.stepped:
            stepped = ast.unparse(pair.stepped[0].func)
            if retained:
                message = (
                    f"`{stepped}()` runs between two `backward()` calls over one graph (through {shown}): it updates "
                    "weights that graph saved, so the second `backward()` raises \"modified by an inplace operation\"; "
                    "run both `backward()` calls before `step()`, or recompute the forward after `step()`"
                )
            else:
                message = (
                    f"the second `backward()` goes through {shown}, whose graph the first `backward()` freed, and "
                    f"`{stepped}()` runs between them: it raises \"Trying to backward through the graph a second time\"; "
                    "`retain_graph=True` would not help (the second gradient would be taken at the weights from before "
                    f"`{stepped}()`, or raise \"modified by an inplace operation\"): recompute the forward after "
                    f"`{stepped}()`, or run both `backward()` calls before it"
                )
            fix = None
            if pair.recompute:
                fix = LazyFix(partial(_recompute, plan=pair.recompute), Applicability.UNSAFE,
                              f"recompute the forward after `{stepped}()` (the second pass then sees the updated weights)")
            return self.finding(pair.second, message, fix)
        if retained:
            return None  # a genuinely shared graph
        message = (
            f"the second `backward()` goes through {shown}, whose graph the first `backward()` freed: it raises "
            "\"Trying to backward through the graph a second time\"; nothing is stepped between them, so the first "
            "`backward()` keeps the graph with `retain_graph=True`"
        )
        fix = None
        if isinstance(pair.first.func, ast.Attribute) and pair.first.func.attr == "backward":
            fix = LazyFix(partial(_retain_graph, call=pair.first), Applicability.SAFE, "keep the shared graph for the second `backward()`")
        return self.finding(pair.second, message, fix)

    # A module's state attribute carried across calls -----------------------------------
    def _module_state(self, analysis: Analysis):
        for info in analysis.classes.values():
            forward = info.methods.get("forward")
            if not info.is_module or forward is None:
                continue
            for store, names in _forward_carries(analysis, forward):
                loop = _training_loop_calling(analysis, info.node.name, names)
                if loop is None:
                    continue
                attribute = names[0].split(".", 1)[1]
                shown = f"`self.{attribute}`"
                message = (
                    f"{shown} keeps this call's graph for the next call of `{info.node.name}`: in the training loop the "
                    "next `backward()` goes through the freed graph of the previous batch and raises \"Trying to "
                    "backward through the graph a second time\"; detach the state where it is stored"
                )
                statement = _detach_line(analysis, store, names)
                anchor = _anchor(analysis, forward, store, names)
                fix = None
                if statement is not None and anchor is not None:
                    fix = LazyFix(
                        partial(_insert_after, anchor=anchor, statement=statement, drop=[], applicability=Applicability.SAFE),
                        Applicability.SAFE,
                        f"detach the carried state: `{statement}`",
                    )
                else:
                    message += _no_fix_reason(statement)
                yield self.finding(store, message, fix)


# Carried state --------------------------------------------------------------------------
def _may_carry(loop) -> bool:
    """A cheap necessary condition of ``carried_names(loop, branches=True)`` (not counting
    ``self``): a name the body may write (every store or delete target, in-place method
    receiver, definition: a superset of ``names_written``) is read by a statement of the
    body before the body has surely assigned it (loop targets, and the targets of the plain
    assignments of the body before it: ``carried_names`` assigns these too). Reads are the
    names and ``a.b`` chains a statement loads, and an augmented assignment's target:
    ``carried_names`` counts no more, and assigns no less. One walk of the body."""
    Name, Attribute, Load = ast.Name, ast.Attribute, ast.Load
    written: set[str] = set()
    walks = [walked(stmt) for stmt in loop.body]
    for nodes in walks:  # what the body may write
        for node in nodes:
            kind = type(node)
            if kind is Name:
                if type(node.ctx) is not Load:  # type: ignore[attr-defined]
                    written.add(node.id)  # type: ignore[attr-defined]
            elif kind is Attribute:
                if type(node.ctx) is not Load:  # type: ignore[attr-defined]
                    written |= _prefixes(node)
            elif kind in (ast.Subscript, ast.Starred, ast.Tuple, ast.List) and type(node.ctx) is not Load:  # type: ignore[attr-defined]
                for inner in walked(node):
                    if type(inner) is Name or type(inner) is Attribute:
                        written |= _prefixes(inner)
            elif kind in (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef):
                written.add(node.name)  # type: ignore[attr-defined]
            elif kind is ast.Call and type(node.func) is Attribute and node.func.attr.endswith("_"):  # type: ignore[attr-defined]
                written |= {c for inner in walked(node.func.value) if type(inner) in (Name, Attribute) for c in _prefixes(inner)}  # type: ignore[attr-defined]
            elif kind in (ast.ExceptHandler, ast.MatchAs, ast.MatchStar) and node.name:  # type: ignore[attr-defined]
                written.add(node.name)  # type: ignore[attr-defined]
    chains = any("." in name for name in written)  # else a chain's read is its first name's
    reads_of: list[set[str]] = []
    for stmt, nodes in zip(loop.body, walks):
        reads: set[str] = set()
        value = stmt.value if type(stmt) in (ast.Assign, ast.AnnAssign) else None  # type: ignore[attr-defined]
        if value is not None:
            nodes = walked(value)
        for node in nodes:
            kind = type(node)
            if kind is Name:
                if type(node.ctx) is Load:  # type: ignore[attr-defined]
                    reads.add(node.id)  # type: ignore[attr-defined]
            elif kind is Attribute:
                if chains and type(node.ctx) is Load:  # type: ignore[attr-defined]
                    reads |= _prefixes(node)
            elif kind is ast.AugAssign:
                reads |= {c for inner in walked(node.target) if type(inner) in (Name, Attribute) for c in _prefixes(inner)}  # type: ignore[attr-defined]
        reads_of.append(reads)
    written.discard("self")
    if not written:
        return False
    assigned = loop_targets(loop)
    for stmt, reads in zip(loop.body, reads_of):
        if (reads & written) - assigned:
            return True
        if type(stmt) is ast.Assign:
            for target in stmt.targets:
                assigned |= target_names(target)
        elif type(stmt) in (ast.AnnAssign, ast.AugAssign):
            assigned |= target_names(stmt.target)  # type: ignore[attr-defined]
    return False


def _prefixes(node: ast.AST) -> set[str]:
    """A name, or an ``a.b.c`` chain and its prefixes (nothing for another chain)."""
    if type(node) is ast.Name:
        return {node.id}  # type: ignore[attr-defined]
    chain = dotted(node)
    if chain is None:
        return set()
    parts = chain.split(".")
    return {".".join(parts[: i + 1]) for i in range(len(parts))}


def _stores_what_it_reads(forward: ast.AST) -> bool:
    """``forward`` assigns some ``self.X`` that it also reads (``_forward_carries``' candidates)."""
    stored, read = set(), set()
    for node in walk(forward.body):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
            (read if isinstance(node.ctx, ast.Load) else stored).add(node.attr)
    return bool(stored & read)


def _no_fix_reason(statement: str | None) -> str:
    if statement is None:
        return " (no automatic fix: the state's structure is not known)"
    return " (no automatic fix: it is stored in a branch and read after it, where it may be unset)"


def _is_true(expr: ast.AST | None) -> bool:
    return isinstance(expr, ast.Constant) and expr.value is True


def _detaching_function(analysis: Analysis, func: ast.AST) -> bool:
    """A function or method that detaches its argument (``repackage_hidden(h)``,
    ``model.repackage_hidden(h)``): one of this file whose body detaches, or one named so."""
    if isinstance(func, ast.Name):
        name, function = func.id, analysis.functions.get(func.id)
    elif isinstance(func, ast.Attribute):
        info = analysis.classes.get(analysis.value(func.value).name or "")
        name, function = func.attr, info.methods.get(func.attr) if info is not None else None
    else:
        return False
    if function is None:
        return "detach" in name or "repackage" in name
    return any(isinstance(n, ast.Attribute) and n.attr in ("detach", "detach_", "data") for n in ast.walk(function))


def _cut(analysis: Analysis, node: ast.AST, stop: ast.AST) -> bool:
    """The read ``node`` takes no graph along where it is used."""
    if analysis.value(node).graph is Graph.NO:
        return True
    child = node
    for parent in analysis.ancestors(node):
        if parent is stop:
            return False
        if isinstance(parent, ast.Attribute) and parent.value is child:
            if parent.attr in _CUT_ATTRIBUTES:
                return True
            grand = analysis.parent(parent)
            if parent.attr in _CUT_METHODS and isinstance(grand, ast.Call) and grand.func is parent:
                return True
        if isinstance(parent, ast.Call) and child is not parent.func:
            if (isinstance(parent.func, ast.Name) and parent.func.id in _CUT_BUILTINS) or _detaching_function(analysis, parent.func):
                return True
        if isinstance(parent, ast.Compare) and all(isinstance(op, (ast.Is, ast.IsNot)) for op in parent.ops):
            return True
        if isinstance(parent, ast.comprehension) and parent.iter is child:
            outer = analysis.parent(parent)
            element = getattr(outer, "elt", None)
            if isinstance(element, ast.Call) and isinstance(element.func, ast.Attribute) and element.func.attr == "detach":
                return True  # tuple(s.detach() for s in h)
            if isinstance(element, ast.Attribute) and element.attr == "data":
                return True  # tuple([each.data for each in h])
        child = parent
    return False


def _graph_mentions(analysis: Analysis):
    """``mentions`` for :func:`flows_into` that skips reads carrying no graph (``x.detach()``,
    ``x.shape``, reads under ``no_grad``)."""

    def graph_mentions(node: ast.AST, names: set[str]) -> bool:
        if analysis.grad_disabled(node):
            return False
        for current in walk(node):
            if isinstance(current, (ast.Name, ast.Attribute)) and isinstance(current.ctx, ast.Load) and dotted(current) in names:
                if not _cut(analysis, current, node):
                    return True
        return False

    return graph_mentions


def _graph_read(analysis: Analysis, name: str, stmt: ast.stmt) -> bool:
    """``stmt`` reads ``name`` in a way that takes its graph along."""
    if analysis.grad_disabled(stmt):
        return False
    region: list[ast.AST]
    if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
        region = [stmt.value] if stmt.value is not None else []
    elif isinstance(stmt, ast.AugAssign):
        region = [stmt.value, stmt.target]
    else:
        region = [stmt]
    for part in region:
        for node in walk(part):
            if isinstance(node, (ast.Name, ast.Attribute)) and dotted(node) == name and not isinstance(node.ctx, ast.Store):
                if isinstance(node, ast.Attribute) or isinstance(node.ctx, ast.Load):
                    if not _cut(analysis, node, stmt):
                        return True
    return False


def _carried_graph_read(analysis: Analysis, loop, name: str, first_read: ast.stmt) -> bool:
    """Some statement from ``first_read`` on, before the iteration assigns ``name``, reads the
    previous iteration's value with its graph (``h = h.detach()`` reads and assigns it)."""
    body = list(statements(loop.body))
    if any(_detaches(analysis, stmt, name) for stmt in body):
        return False  # the loop repackages the state somewhere (maybe only when it is set)
    started = False
    for stmt in body:
        started = started or stmt is first_read
        if not started or isinstance(stmt, COMPOUND):
            continue
        if _graph_read(analysis, name, stmt):
            return True
        if _writes(stmt, name) and _unbranched(analysis, stmt, loop):
            return False
    return False


def _unbranched(analysis: Analysis, stmt: ast.stmt, loop) -> bool:
    """No ``if`` or ``try`` between ``stmt`` and ``loop``: it runs whenever the iteration gets there."""
    for ancestor in analysis.ancestors(stmt):
        if ancestor is loop:
            return True
        if not isinstance(ancestor, (ast.With, ast.AsyncWith, *LOOPS)):
            return False
    return False


def _detaches(analysis: Analysis, stmt: ast.stmt, name: str) -> bool:
    """``h = h.detach()``, ``h = repackage_hidden(h)``, ``h.detach_()``: the state, cut from its graph."""
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) and isinstance(stmt.value.func, ast.Attribute):
        return stmt.value.func.attr == "detach_" and dotted(stmt.value.func.value) == name
    return _writes(stmt, name) and name in names_read(stmt) and not _graph_read(analysis, name, stmt)


def _writes(stmt: ast.stmt, name: str) -> bool:
    if isinstance(stmt, ast.Assign):
        return any(name in target_names(t) for t in stmt.targets)
    if isinstance(stmt, (ast.AnnAssign, ast.AugAssign)):
        return name in target_names(stmt.target)
    return False


def _last_store(scope, name: str) -> ast.Assign | None:
    """The last assignment to ``name`` in source order: what the next iteration (or call) reads."""
    last = None
    for stmt in statements(scope.body):
        if isinstance(stmt, COMPOUND):
            if isinstance(stmt, (ast.For, ast.AsyncFor, ast.With)) and name in names_written(getattr(stmt, "target", None) or []):
                return None
            continue
        if _writes(stmt, name) or (isinstance(stmt, ast.Expr) and name in names_written(stmt)):
            last = stmt
    return last if isinstance(last, ast.Assign) else None


def _store_targets(store: ast.Assign, name: str) -> list[ast.AST]:
    return [
        node for target in store.targets for node in ast.walk(target)
        if isinstance(node, (ast.Name, ast.Attribute)) and isinstance(node.ctx, ast.Store) and dotted(node) == name
    ]


def _target_order(store: ast.Assign, name: str) -> tuple[int, int]:
    node = _store_targets(store, name)[0]
    return node.lineno, node.col_offset


def _stored_value(analysis: Analysis, store: ast.Assign, name: str):
    targets = _store_targets(store, name)
    if len(targets) == 1:
        return analysis.value(targets[0])
    return analysis.value(store.value)


def _detach_line(analysis: Analysis, store: ast.Assign, names: list[str]) -> str | None:
    """The statement that detaches ``names`` and keeps their structure, or None when it is not known."""
    parts = []
    for name in names:
        value = _stored_value(analysis, store, name)
        if value.is_tensor:
            parts.append(f"{name}.detach()")
        elif _detachable(value):
            element = fresh_name(analysis, "state")
            parts.append(f"tuple({element}.detach() for {element} in {name})")
        else:
            helper = next(
                (f for f in analysis.functions if _detaching_function(analysis, ast.Name(f)) and _one_argument(analysis.functions[f])),
                None,
            )
            if helper is None:
                return None
            parts.append(f"{helper}({name})")
    return f"{', '.join(names)} = {', '.join(parts)}"


def _one_argument(function) -> bool:
    args = function.args
    return len(args.args) == 1 and not args.posonlyargs and not args.kwonlyargs and not args.vararg


def _anchor(analysis: Analysis, scope, store: ast.Assign, names: list[str]) -> ast.stmt | None:
    """Where the detach goes: after the last statement that still reads the state in this
    step. Never inside an inner loop over time steps (its steps must keep backpropagating
    into each other): after that loop. A store under an ``if`` gets its detach in its
    branch, or after the last read that follows the branch when the state is known to be
    set there; None when neither is sure."""
    path = [store]
    while analysis.parent(path[-1]) is not scope:
        parent = analysis.parent(path[-1])
        if parent is None or isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)):
            return None
        path.append(parent)
    inner_loops = [i for i, node in enumerate(path) if isinstance(node, LOOPS)]
    unit = inner_loops[-1] if inner_loops else 0  # the store, or the outermost inner loop holding it
    top_block = scope.body
    later = [s for s in top_block[_index(top_block, path[-1]) + 1 :] if mentions(s, set(names))]
    if all(isinstance(node, (ast.With, ast.AsyncWith)) for node in path[unit + 1 :]):
        return later[-1] if later else path[-1]  # straight-line code down to the store
    if later:
        last = later[-1]
        reads = [n for n in walk(last) if isinstance(n, (ast.Name, ast.Attribute)) and isinstance(n.ctx, ast.Load) and dotted(n) in names]
        if isinstance(last, COMPOUND) or not reads or not all(_detachable(analysis.value(n)) for n in reads):
            return None  # the state may be unset (or something else) there
        return last
    for level in path[unit + 1 : -1]:
        block = block_of(analysis.parent, level)
        if block is None or any(mentions(s, set(names)) for s in block[_index(block, level) + 1 :]):
            return None
    block = block_of(analysis.parent, path[unit])
    if block is None:
        return None
    anchor = path[unit]
    for stmt in block[_index(block, anchor) + 1 :]:
        if mentions(stmt, set(names)):
            anchor = stmt
    return anchor


def _detachable(value) -> bool:
    return value.is_tensor or (
        value.kind is Kind.TUPLE and not value.optional and bool(value.items) and all(item.is_tensor for item in value.items)
    )


def _index(block: list[ast.stmt], stmt: ast.AST) -> int:
    return next(i for i, s in enumerate(block) if s is stmt)


def _nearest_loop(analysis: Analysis, node: ast.AST):
    for ancestor in analysis.ancestors(node):
        if isinstance(ancestor, LOOPS):
            return ancestor
        if isinstance(ancestor, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            return None
    return None


def _forward_carries(analysis: Analysis, forward):
    """``self.X`` read (with its graph) before ``forward`` assigns it, then stored with a graph."""
    read_first: dict[str, ast.stmt] = {}
    assigned: set[str] = set()
    for stmt in statements(forward.body):
        if isinstance(stmt, COMPOUND):
            continue
        for name in names_read(stmt.value if isinstance(stmt, ast.Assign) else stmt):
            if name.startswith("self.") and name.count(".") == 1 and name not in assigned:
                read_first.setdefault(name, stmt)
        assigned |= names_written(stmt)
    by_store: dict[int, tuple[ast.Assign, list[str]]] = {}
    written = names_written(forward.body) if read_first else set()  # from the statements' kept sets
    for name, stmt in read_first.items():
        if name not in written:
            continue  # never stored in forward (`_last_store` finds nothing)
        if not _graph_read(analysis, name, stmt):
            continue
        store = _last_store(forward, name)
        if store is None or analysis.grad_disabled(store) or not _store_targets(store, name):
            continue
        if not _stored_value(analysis, store, name).carries:
            continue
        if not analysis.value(store.value).carries or not _module_call(analysis, store.value):
            continue
        by_store.setdefault(id(store), (store, []))[1].append(name)
    return [(store, sorted(names, key=lambda n: _target_order(store, n))) for store, names in by_store.values()]


def _module_call(analysis: Analysis, value: ast.AST) -> bool:
    return isinstance(value, ast.Call) and analysis.value(value.func).kind is Kind.MODULE


def _training_loop_calling(analysis: Analysis, class_name: str, names: list[str]):
    """A loop of this file that calls an instance of ``class_name``, backpropagates its output,
    and never resets the state between calls."""
    attributes = {n.split(".", 1)[1] for n in names}
    info = analysis.classes[class_name]
    resetting = {m for m, fn in info.methods.items() if m != "forward" and any(
        isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Store) and n.attr in attributes
        and isinstance(n.value, ast.Name) and n.value.id == "self" for n in ast.walk(fn))}
    for loop in analysis.nodes(*LOOPS):
        backwards = backward_calls(analysis, loop)
        if not backwards or analysis.grad_disabled(loop):
            continue
        calls = [
            node for node in walk(loop.body)
            if isinstance(node, ast.Call) and analysis.value(node.func).kind is Kind.MODULE and analysis.value(node.func).name == class_name
        ]
        if not calls:
            continue
        instances = {dotted(c.func) for c in calls} - {None}
        resets = any(
            (isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and node.attr in attributes and dotted(node.value) in instances)
            or (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in resetting
                and dotted(node.func.value) in instances)
            for node in walk(loop.body)
        )
        if resets:
            continue
        body = list(statements(loop.body))
        outputs = set()
        for stmt in body:
            if isinstance(stmt, ast.Assign) and any(c in list(walk(stmt.value)) for c in calls):
                for target in stmt.targets:
                    outputs |= target_names(target)
        tainted = flows_into(body, outputs) if outputs else set()
        if any(mentions(root, tainted) for call in backwards for root in backward_roots(analysis, call)) or any(
            any(c in list(walk(root)) for c in calls) for call in backwards for root in backward_roots(analysis, call)
        ):
            return loop
    return None


# Two backward calls ---------------------------------------------------------------------
def _pair(analysis: Analysis, loop, first: ast.Call, second: ast.Call) -> _Pair | None:
    """``first`` and ``second`` backpropagate through one value computed in this iteration before ``first``."""
    first_stmt, second_stmt = _statement(analysis, first), _statement(analysis, second)
    if first_stmt is None or second_stmt is None or first_stmt is second_stmt:
        return None
    if _exclusive_branches(analysis, first_stmt, second_stmt, loop):
        return None
    ordered = list(statements(loop.body))
    position = {id(s): i for i, s in enumerate(ordered)}
    before = [s for s in ordered if position[id(s)] < position[id(first_stmt)]]
    between = [s for s in ordered if position[id(first_stmt)] < position[id(s)] < position[id(second_stmt)]]
    upto_second = [s for s in ordered if position[id(s)] < position[id(second_stmt)]]
    rebound = names_written(between)
    first_roots, second_roots = backward_roots(analysis, first), backward_roots(analysis, second)
    graph_mentions = _graph_mentions(analysis)
    shared: list[tuple[ast.Assign, set[str]]] = []
    for stmt in before:
        if not isinstance(stmt, ast.Assign) or analysis.grad_disabled(stmt) or not analysis.value(stmt.value).carries:
            continue
        value = analysis.value(stmt.value)
        element = value.element_value()
        if value.leaf or (element is not None and element.leaf):
            continue  # a Parameter or leaf (or a list of them) has no graph to free
        names = set().union(*(target_names(t) for t in stmt.targets)) - rebound
        if not names:
            continue
        if any(graph_mentions(r, flows_into(before, names, graph_mentions)) for r in first_roots) and any(
            graph_mentions(r, flows_into(upto_second, names, graph_mentions)) for r in second_roots
        ):
            shared.append((stmt, names))
    # The values the others derive from: `fake`, not `netD(fake)`'s output built from it.
    sources = [
        (stmt, names) for stmt, names in shared
        if not any(other is not stmt and graph_mentions(stmt.value, flows_into(before, other_names, graph_mentions)) for other, other_names in shared)
    ]
    if not sources:
        return None
    stepped = _updates(analysis, between)
    chosen = shared if stepped else sources
    pair = _Pair(first, second, sorted(set().union(*(names for _, names in chosen)), key=lambda n: _first_store(chosen, n)), stepped)
    if stepped:
        pair.recompute = _recomputation(analysis, sources, before, between, second_stmt, stepped[-1])
    return pair


def _recomputation(analysis: Analysis, sources, before, between, second_stmt, update: ast.Call):
    """The reads to replace by their forward so the second pass runs at the updated weights:
    each source (``output = model(x)``, its only binding before the first backward) is read
    once after ``update`` up to the second backward, and what it reads is not rebound since."""
    after = [s for s in between if s.lineno > update.lineno] + [second_stmt]
    rebound = names_written(between)
    plan = []
    for stmt, names in sources:
        if len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Name) or names_read(stmt.value) & rebound:
            return None
        name = stmt.targets[0].id
        if sum(1 for s in before if name in names_written(s)) != 1:
            return None
        reads = [n for s in after for n in walk(s) if isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load)]
        if len(reads) != 1:
            return None
        plan.append((reads[0], stmt.value))
    return plan or None


def _updates(analysis: Analysis, between: list[ast.stmt]) -> list[ast.Call]:
    """The calls among ``between`` that update weights: ``step()``, and an optimizer's own
    ``*_step`` methods (SAM's ``first_step``, which moves the weights before the second pass)."""
    found = step_calls(between)
    for node in walk(between):
        if type(node) is ast.Call and type(node.func) is ast.Attribute and node.func.attr.endswith("_step") and node not in found:
            if _optimizer_like(analysis, node.func.value):
                found.append(node)
    return sorted(found, key=lambda call: (call.lineno, call.col_offset))


def _optimizer_like(analysis: Analysis, receiver: ast.expr) -> bool:
    value = analysis.value(receiver)
    if value.kind is Kind.OPTIMIZER:
        return True
    info = analysis.classes.get(value.name or "") if value.kind is Kind.INSTANCE else None
    if info is not None:
        return any((analysis.qualify(base) or "").startswith("torch.optim.") for base in info.node.bases)
    return False


def _recompute(ctx, plan) -> Fix | None:
    edits = []
    for read, value in plan:
        node, expression = ctx.node_for(read), ctx.node_for(value)
        if node is None or expression is None:
            return None
        edits.append((node, expression.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()]) if _needs_parentheses(expression) else expression))
    return Fix(edits, Applicability.UNSAFE, "recompute the forward after the update")


def _needs_parentheses(expression) -> bool:
    return not isinstance(expression, (cst.Call, cst.Name, cst.Attribute, cst.Subscript)) and not expression.lpar


def _call_label(calls: list[ast.Call]) -> str:
    """How the messages name the backward calls: `backward()`, or `torch.autograd.grad()` (as
    spelled) when every one is a call of autograd's ``grad``."""
    if calls and not any(isinstance(c.func, ast.Attribute) and c.func.attr == "backward" for c in calls):
        return f"`{ast.unparse(calls[0].func)}()`"
    return "`backward()`"


def _first_store(chosen, name: str) -> tuple[int, int]:
    stmt = next(s for s, names in chosen if name in names)
    return stmt.lineno, stmt.col_offset


def _statement(analysis: Analysis, node: ast.AST) -> ast.stmt | None:
    for ancestor in [node, *analysis.ancestors(node)]:
        if isinstance(ancestor, ast.stmt):
            return ancestor
    return None


def _exclusive_branches(analysis: Analysis, a: ast.stmt, b: ast.stmt, loop) -> bool:
    """``a`` and ``b`` sit in different branches of one ``if`` (never both run in one iteration)."""
    for ancestor in analysis.ancestors(a):
        if ancestor is loop:
            return False
        if isinstance(ancestor, ast.If):
            in_body = any(n is a for s in ancestor.body for n in ast.walk(s))
            b_body = any(n is b for s in ancestor.body for n in ast.walk(s))
            b_else = any(n is b for s in ancestor.orelse for n in ast.walk(s))
            if (in_body and b_else) or (not in_body and b_body):
                return True
    return False


def _discriminator_step(analysis: Analysis, loop, pair: _Pair):
    """The call ``netD(fake)`` of the discriminator step, when the shared value is a module's
    output consumed by another module in both steps: (call, argument, backward)."""
    if len(pair.shared) != 1:
        return None
    name = pair.shared[0]
    ordered = list(statements(loop.body))
    producer = _producer(analysis, loop, name)
    if producer is None:
        return None
    generator = dotted(producer.value.func)  # type: ignore[attr-defined]
    position = {id(s): i for i, s in enumerate(ordered)}
    first_stmt, second_stmt = _statement(analysis, pair.first), _statement(analysis, pair.second)
    segments = {
        id(pair.first): [s for s in ordered if position[id(producer)] < position[id(s)] <= position[id(first_stmt)]],
        id(pair.second): [s for s in ordered if position[id(first_stmt)] < position[id(s)] <= position[id(second_stmt)]],
    }
    found = []
    for backward in (pair.first, pair.second):
        segment = segments[id(backward)]
        consumers = [
            node for stmt in segment for node in walk(stmt)
            if isinstance(node, ast.Call) and _module_call(analysis, node) and dotted(node.func) not in (None, generator)
            and any(isinstance(a, ast.Name) and a.id == name for a in node.args)
        ]
        if not consumers:
            return None
        critic = dotted(consumers[0].func)
        if _optimizer_after(analysis, loop, backward, critic, generator) or _scores_real_data(analysis, segment, critic, name):
            found.append((consumers[0], next(a for a in consumers[0].args if isinstance(a, ast.Name) and a.id == name), backward))
    if len(found) != 1:
        return None
    return found[0]


def _producer(analysis: Analysis, loop, name: str) -> ast.Assign | None:
    """The module call that assigns ``name`` in ``loop`` (``fake = netG(z)``)."""
    for stmt in statements(loop.body):
        if isinstance(stmt, ast.Assign) and any(name in target_names(t) for t in stmt.targets) and _module_call(analysis, stmt.value):
            return stmt
    return None


def _generator_zeroed(analysis: Analysis, loop, pair: _Pair, fake: str) -> bool:
    """Between the two backward calls, the generator's gradients are cleared (``netG.zero_grad()``,
    or ``zero_grad()`` of an optimizer over its parameters)."""
    producer = _producer(analysis, loop, fake)
    if producer is None:
        return True  # not known: assume the harmless case
    generator = dotted(producer.value.func)  # type: ignore[attr-defined]
    ordered = list(statements(loop.body))
    position = {id(s): i for i, s in enumerate(ordered)}
    start, end = position[id(_statement(analysis, pair.first))], position[id(_statement(analysis, pair.second))]
    for stmt in ordered[start + 1 : end]:
        for node in walk(stmt):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "zero_grad":
                owner = dotted(node.func.value)
                if owner == generator or generator in _optimizer_inputs(analysis, owner):
                    return True
    return False


def _optimizer_after(analysis: Analysis, loop, backward: ast.Call, critic: str | None, generator: str | None) -> bool:
    """The first ``opt.step()`` after ``backward`` in the loop steps an optimizer built over the
    critic's parameters and not the generator's."""
    ordered = list(statements(loop.body))
    start = _statement(analysis, backward)
    after = False
    for stmt in ordered:
        if stmt is start:
            after = True
            continue
        if not after:
            continue
        for node in walk(stmt):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "step":
                optimizer = dotted(node.func.value)
                reads = _optimizer_inputs(analysis, optimizer)
                return critic in reads and generator not in reads
    return False


def _optimizer_inputs(analysis: Analysis, optimizer: str | None) -> set[str]:
    if optimizer is None:
        return set()
    reads: set[str] = set()
    for node in analysis.nodes(ast.Assign):
        if any(dotted(t) == optimizer for t in node.targets) and isinstance(node.value, ast.Call):  # type: ignore[attr-defined]
            qualified = analysis.qualify(node.value.func) or ""  # type: ignore[attr-defined]
            if qualified.startswith("torch.optim"):
                reads |= names_read(node.value.args)  # type: ignore[attr-defined]
    return reads


def _scores_real_data(analysis: Analysis, segment: list[ast.stmt], critic: str | None, fake: str) -> bool:
    """The step also calls the critic on something not derived from the generator's output."""
    derived = flows_into(segment, {fake})
    for stmt in segment:
        for node in walk(stmt):
            if isinstance(node, ast.Call) and dotted(node.func) == critic and node.args and not any(mentions(a, derived) for a in node.args):
                return True
    return False


# Fixes ------------------------------------------------------------------------------------
def _insert_after(ctx, anchor: ast.stmt, statement: str, drop: list[ast.Call], applicability: Applicability) -> Fix | None:
    node = ctx.node_for(anchor)
    if node is None:
        return None
    line = node if isinstance(node, cst.BaseCompoundStatement) else ctx.parent(node)
    if not isinstance(line, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
        return None
    if isinstance(line, cst.SimpleStatementLine) and len(line.body) != 1:
        return None
    edits: list = []
    replacement = line
    for call in drop:
        cst_call = ctx.node_for(call)
        if not isinstance(cst_call, cst.Call):
            return None
        new_call = cst_call.with_changes(args=_without_retain_graph(cst_call.args))
        if any(c is cst_call for c in ctx.walk(line)):
            replacement = replacement.deep_replace(cst_call, new_call)
        else:
            edits.append((cst_call, new_call))
    new_line = cst.parse_statement(statement)
    edits.append((line, cst.FlattenSentinel([replacement, new_line])))
    return Fix(edits, applicability, f"detach the carried state: `{statement}`")


def _detach_argument(ctx, argument: ast.Name, drop: ast.Call | None, applicability: Applicability) -> Fix | None:
    node = ctx.node_for(argument)
    if not isinstance(node, cst.Name):
        return None
    edits: list = [(node, cst.Call(func=cst.Attribute(value=node, attr=cst.Name("detach"))))]
    if drop is not None:
        call = ctx.node_for(drop)
        if not isinstance(call, cst.Call):
            return None
        edits.append((call, call.with_changes(args=_without_retain_graph(call.args))))
    return Fix(edits, applicability, f"detach `{node.value}` in the discriminator step")


def _retain_graph(ctx, call: ast.Call) -> Fix | None:
    node = ctx.node_for(call)
    if not isinstance(node, cst.Call):
        return None
    args = list(node.args)
    for index, arg in enumerate(args):
        if arg.keyword is not None and arg.keyword.value == "retain_graph":  # retain_graph=False
            args[index] = arg.with_changes(value=cst.Name("True"))
            return Fix([(node, node.with_changes(args=args))], Applicability.SAFE, "keep the shared graph with `retain_graph=True`")
    if args:
        args[-1] = args[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    args.append(cst.Arg(keyword=cst.Name("retain_graph"), value=cst.Name("True"),
                        equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))))
    return Fix([(node, node.with_changes(args=args))], Applicability.SAFE, "keep the shared graph with `retain_graph=True`")
