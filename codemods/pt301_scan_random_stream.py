"""PT301 scan-random-stream."""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass, field
from functools import partial

import libcst as cst

from gradfix.rule import Applicability, Fix, LazyFix, Rule

from ._ast import nodes_of
from ._names import keyword, kwarg
from ._pytensor import (
    FUNCTIONS,
    MRG_STREAMS,
    SCAN_PARAMETERS,
    Draw,
    Function,
    ScanCall,
    ScanFacts,
    bound_names,
    evaluation_order,
    free_names,
    fresh_name,
    identifier_uses,
    identifiers,
    list_items,
    parameters,
    preorder,
)
from ._values import Analysis

_ADVICE = (
    "`grad` through this scan raises NullTypeGradError: "
    "draw the noise for all steps outside and pass it as a sequence"
)
_DESCRIPTION = "draw the noise for all steps before the scan and pass it as a sequence"
# Draws whose (T, ...) form is checked to give the same numbers as T per-step draws.
_BITWISE_METHODS = {"normal", "uniform"}
# Nodes between a draw and its function that make the draw conditional or repeated.
_NOT_ONCE: tuple[type, ...] = (
    ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try, ast.Lambda, *FUNCTIONS,
    ast.IfExp, ast.BoolOp, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp,
) + ((ast.Match,) if sys.version_info >= (3, 10) else ()) + ((ast.TryStar,) if sys.version_info >= (3, 11) else ())


class ScanRandomStream(Rule):
    """
    A `scan` whose step function draws from a random stream cannot be differentiated.

    The stream's generator is a hidden recurrent state of the loop: scan keeps only its
    last value, so the backward pass cannot replay the noise each step drew. `grad`
    through the scan then raises `NullTypeGradError` ("... is undefined. Depends on a
    untraced variable" in PyTensor, "Depends on a shared variable" in Theano) for every
    parameter whose gradient needs the noise, even though evaluating the scan works. A draw
    inside a helper the step calls (a `sample(mu, log_sigma)` that makes the
    reparameterised draw) breaks it the same way.

    The fix draws the noise for all steps before the scan, with a leading steps
    dimension, and passes it as an extra *sequence*: each step receives its own slice as a
    new parameter right after the existing sequences' (and helpers get it as a new
    argument). One `(T, ...)` draw gives exactly the numbers of `T` sequential `(...)`
    draws from the same stream and seed, so the forward values are bitwise equal. Passing
    one draw as `non_sequences` (a common answer) reuses the same noise at every step: it
    changes the model, and gradfix never emits it.

    Bad:

        srng = RandomStream(seed=42)

        def step(x_t, h):
            h = pt.tanh(x_t @ W + h)
            eps = srng.normal(size=(B, H))
            return h + 0.1 * eps

        hs, _ = pytensor.scan(step, sequences=[xs], outputs_info=[h0])
        pytensor.grad(hs.sum(), W)   # NullTypeGradError

    Good:

        srng = RandomStream(seed=42)

        def step(x_t, eps, h):
            h = pt.tanh(x_t @ W + h)
            return h + 0.1 * eps

        eps_seq = srng.normal(size=(xs.shape[0], B, H))
        hs, _ = pytensor.scan(step, sequences=[xs, eps_seq], outputs_info=[h0])
        pytensor.grad(hs.sum(), W)   # works

    Fix safety: safe for `RandomStream` (PyTensor) and Theano's `shared_randomstreams`,
    whose `normal`/`uniform` fill a `(T, ...)` draw with the same numbers as `T` draws.
    One behaviour does change, for the better: a program that dropped the `updates` scan
    returned got the same noise on every call of its compiled function; the hoisted draw
    has the stream's default update, so each call now draws fresh noise (the first call is
    bitwise equal).
    Unsafe for `MRG_RandomStreams`, whose numbers depend on the size of the draw (same
    model, different noise). Reported without a fix when the size is not static, the draw
    is conditional, the loop runs backwards or stops early (`until`), or the step or
    helper is shaped in a way the rewrite cannot follow.
    """

    code = "PT301"
    name = "scan-random-stream"
    summary = "`scan` step draws from a random stream; `grad` fails. Pass the noise as a sequence"
    framework = "pytensor"
    trigger = re.compile(r"RandomStream")

    @staticmethod
    def quick_check(tree: ast.Module) -> bool:
        """A call of something named ``scan``."""
        return any(
            getattr(node.func, "attr", None) == "scan" or getattr(node.func, "id", None) == "scan"
            for node in nodes_of(tree, ast.Call)
        )

    def detect(self, analysis: Analysis):
        if not (analysis.imports.imports_module("pytensor") or analysis.imports.imports_module("theano")):
            return
        facts = ScanFacts(analysis)
        for scan in facts.scan_calls():
            fn = scan.value("fn")
            if isinstance(fn, ast.Lambda):
                draw = next((n for n in preorder(fn.body) if facts.drawn_stream(n) is not None), None)
                if draw is not None:
                    message = f"the step lambda draws from a random stream (`{_code(analysis, draw.func)}`); {_ADVICE}"  # type: ignore[attr-defined]
                    yield self.finding(scan.call, f"{message} (not rewritten: the step is a lambda)")
                continue
            step = facts.resolve_function(fn, scan.call) if fn is not None else None
            if step is None:
                continue
            events = _draw_events(facts, step)
            if not events:
                continue
            first = events[0][0]
            where = "" if first.function is step else f" in `{first.function.name}`"
            message = (
                f"the step function `{step.name}` draws from a random stream "
                f"(`{_code(analysis, first.call.func)}`{where}); {_ADVICE}"
            )
            try:
                plan = _Planner(facts, scan, step, events).decide()
            except _Refuse as why:
                yield self.finding(scan.call, f"{message} (not rewritten: {why})")
                continue
            yield self.finding(scan.call, message, LazyFix(partial(_build, plan=plan), plan.applicability, plan.description))


class _Refuse(Exception):
    """Why a finding is reported without a fix."""


def _code(analysis: Analysis, node: ast.AST) -> str:
    return ast.get_source_segment(analysis.source, node) or ""


def _draw_events(facts: ScanFacts, step: Function) -> list[tuple[Draw, ast.Call | None]]:
    """The step's draws in the order they run: its own, and those of the helpers it calls
    (with the call that reaches them). Hoisted draws are made in this order, so each gets
    the random variable its per-step draw had."""
    direct = {id(d.call): d for d in facts.draws_in(step)}
    helpers = {id(call): helper for call, helper in facts.helper_calls(step)}
    events: list[tuple[Draw, ast.Call | None]] = []
    for statement in step.body:
        for node in evaluation_order(statement):
            if id(node) in direct:
                events.append((direct[id(node)], None))
            elif id(node) in helpers:
                events.extend((draw, node) for draw in facts.draws_in(helpers[id(node)]))  # type: ignore[misc]
    return events


@dataclass
class _Hoist:
    """One statement the fix puts before the scan: ``name = <stream constructor>``, or
    ``name = <the draw with a leading steps dimension>``."""

    name: str
    call: ast.Call
    draw: Draw | None = None
    stream: str | None = None  # a draw from a hoisted stream: that stream's new name


@dataclass
class _Plan:
    """The rewrite of one scan, decided on ``ast``; :func:`_build` writes it with LibCST."""

    scan: ScanCall
    step: Function
    step_index: int  # where the step's new parameters go
    functions: list[Function] = field(default_factory=list)  # step and helpers that change
    new_params: dict[int, list[str]] = field(default_factory=dict)  # function id -> appended parameters
    step_params: list[str] = field(default_factory=list)  # the step's new parameters, in draw order
    removed: list[ast.stmt] = field(default_factory=list)  # draw and stream lines that go away
    renamed: list[tuple[ast.Call, str]] = field(default_factory=list)  # draws replaced by a parameter
    extended: dict[int, tuple[ast.Call, list[tuple[str, str]]]] = field(default_factory=dict)  # helper calls gaining args
    hoists: list[_Hoist] = field(default_factory=list)
    sequences: list[str] = field(default_factory=list)  # the new sequences, in draw order
    mrg: bool = False

    @property
    def applicability(self) -> Applicability:
        return Applicability.UNSAFE if self.mrg else Applicability.SAFE

    @property
    def description(self) -> str:
        return _DESCRIPTION + (" (MRG_RandomStreams: same model, different numbers)" if self.mrg else "")


class _Planner:
    """Decides on ``ast`` whether and how one scan is rewritten; raises _Refuse if not."""

    def __init__(self, facts: ScanFacts, scan: ScanCall, step: Function, events) -> None:
        self.facts, self.analysis = facts, facts.analysis
        self.scan, self.step, self.events = scan, step, events
        self.site = self.analysis.enclosing_function(scan.call)  # None: module level
        self.site_names = identifiers(self.site or self.analysis.tree)
        self.taken_outside: set[str] = set()
        self.hoisted_streams: dict[int, str] = {}
        self.plan = _Plan(scan, step, 0)

    def decide(self) -> _Plan:
        scan, step, plan = self.scan, self.step, self.plan
        go_backwards = scan.value("go_backwards")
        if go_backwards is not None and not (isinstance(go_backwards, ast.Constant) and go_backwards.value is False):
            raise _Refuse("the scan may run backwards")
        if "until" in identifiers(step):
            raise _Refuse("the scan may stop early (`until`)")
        statement = self._scan_statement()
        self._check_only_user(step)
        items = self._sequences()
        self_call = _is_self_call(scan.value("fn"))
        index = len(items) + (1 if self_call else 0)
        self._check_signature(step, index)
        if self_call != self.facts.is_method(step):
            raise _Refuse("the step function is bound in an unusual way")
        for draw, via in self.events:
            self._plan_draw(draw, via)
        plan.step_index = index
        self._check_disjoint([*plan.functions, statement])
        plan.mrg = any(d.stream.qualified in MRG_STREAMS for d, _ in self.events)
        return plan

    def _scan_statement(self) -> ast.stmt:
        """The statement holding the scan call: a plain statement of a block (not inside a
        lambda or on the line of a compound statement's header), nothing else drawing on it."""
        statement: ast.AST | None = self.scan.call
        while statement is not None and not isinstance(statement, ast.stmt):
            if isinstance(statement, ast.Lambda):
                raise _Refuse("the scan call is not a plain statement")
            statement = self.analysis.parent(statement)
        line = _line_of(self.analysis, statement) if statement is not None else None
        if line is None:
            raise _Refuse("the scan call is not a plain statement")
        drawn = {id(d.call) for d, _ in self.events}
        for node in (n for s in line for n in preorder(s)):
            if node is not self.scan.call and id(node) not in drawn and self.facts.drawn_stream(node) is not None:
                raise _Refuse("the scan statement draws random numbers itself")
        return statement  # type: ignore[return-value]

    def _check_only_user(self, step: Function) -> None:
        """The step's signature changes: nothing but this scan may call, pass or keep it."""
        fn = self.scan.value("fn")
        for node in self.analysis.nodes(ast.Name, ast.Attribute):
            spelled = node.id if isinstance(node, ast.Name) else node.attr  # type: ignore[attr-defined]
            if spelled != step.name or node is fn or not isinstance(node.ctx, ast.Load):  # type: ignore[attr-defined]
                continue
            if self.facts.resolve_function(node, node) is step:
                raise _Refuse(f"`{step.name}` is also used elsewhere")

    def _sequences(self) -> list[ast.expr]:
        sequences, n_steps = self.scan.value("sequences"), self.scan.value("n_steps")
        if sequences is None or (isinstance(sequences, ast.Constant) and sequences.value is None):
            items: list[ast.expr] = []
        else:
            listed = list_items(sequences)
            if isinstance(sequences, (ast.List, ast.Tuple)) and listed is None:
                raise _Refuse("the sequences are starred")
            items = listed if listed is not None else [sequences]
        for item in items:
            if isinstance(item, ast.Dict) or (isinstance(item, ast.Call) and isinstance(item.func, ast.Name) and item.func.id == "dict"):
                raise _Refuse("a sequence has taps")
        if n_steps is not None:
            if isinstance(n_steps, ast.UnaryOp):
                raise _Refuse("`n_steps` may be negative")
            return items
        if not items:
            raise _Refuse("the number of steps is not known")
        if not isinstance(items[0], (ast.Name, ast.Attribute, ast.Subscript, ast.Call)):
            raise _Refuse("the first sequence is not a simple expression")
        return items

    # One draw --------------------------------------------------------------------------
    def _plan_draw(self, draw: Draw, via: ast.Call | None) -> None:
        plan, func = self.plan, draw.function
        if draw.method not in _BITWISE_METHODS:
            raise _Refuse(f"`{draw.method}` draws are not known to split bitwise over steps")
        if any(isinstance(node, _NOT_ONCE) for node in self._between(draw.call, func)):
            raise _Refuse("a draw is conditional or repeated within a step")
        if via is not None:
            self._check_helper(func, via)
        _size_arg(draw)
        self._check_visible(draw, func)

        stream, hoisted_stream = draw.stream, None
        if stream.function is func:
            hoisted_stream = self._hoist_stream(draw)
        elif stream.function is None or stream.reference.startswith("self.") or stream.function is self.site:
            if stream.function is None and stream.reference in self._site_bound():
                raise _Refuse(f"`{stream.reference}` means something else where the scan is called")
            if stream.reference.startswith("self."):
                self._check_self(func)
        else:
            raise _Refuse("the random stream is not visible where the scan is called")

        base, remove = self._draw_target(draw)
        new_params = plan.new_params.setdefault(id(func), [])
        param = base if remove is not None else fresh_name("eps", identifiers(func) | set(new_params))
        self._function(func)
        if remove is not None:
            plan.removed.append(remove)
        else:
            plan.renamed.append((draw.call, param))
        new_params.append(param)
        step_param = param
        if via is not None:
            step_new = plan.new_params.setdefault(id(self.step), [])
            step_param = fresh_name(base, identifiers(self.step) | set(step_new))
            self._function(self.step)
            step_new.append(step_param)
            plan.extended.setdefault(id(via), (via, []))[1].append((param, step_param))
        plan.step_params.append(step_param)

        outer = fresh_name(f"{step_param}_seq", self.site_names | identifiers(self.step) | self.taken_outside)
        self.taken_outside.add(outer)
        plan.hoists.append(_Hoist(outer, draw.call, draw, hoisted_stream))
        plan.sequences.append(outer)

    def _check_visible(self, draw: Draw, func: Function) -> None:
        """Every name the draw reads must mean the same thing where the scan is called."""
        local = bound_names(func)
        names = set().union(*(free_names(a) for a in _call_arguments(draw.call)))
        if draw.stream.function is func:
            names |= set().union(*(free_names(a) for a in _call_arguments(draw.stream.constructor)))
        names.discard(draw.stream.reference)
        nested = self.site is not None and any(a is self.site for a in self.analysis.ancestors(func))
        for name in sorted(names):
            if name == "self":
                self._check_self(func)
            elif name in local:
                raise _Refuse(f"the draw's arguments depend on `{name}`, computed inside the step")
            elif not nested and name in self._site_bound():
                raise _Refuse(f"`{name}` means something else where the scan is called")

    def _site_bound(self) -> set[str]:
        return bound_names(self.site) if self.site is not None else set()

    def _check_self(self, func: Function) -> None:
        site = self.site
        if (
            site is None
            or not site.args.args
            or site.args.args[0].arg != "self"
            or self.facts.nearest_class(site) is not self.facts.nearest_class(func)
        ):
            raise _Refuse("`self` is not the same object where the scan is called")

    def _check_helper(self, helper: Function, via: ast.Call) -> None:
        callers = [n for n in self.analysis.calls() if self.facts.resolve_function(n.func, n) is helper]
        if callers != [via]:
            raise _Refuse(f"`{helper.name}` is called from more than the step")
        if any(isinstance(node, _NOT_ONCE) for node in self._between(via, self.step)):
            raise _Refuse(f"`{helper.name}` is called conditionally or repeatedly")
        if any(self.facts.drawn_stream(n) is not None for arg in _call_arguments(via) for n in preorder(arg)):
            raise _Refuse("the helper call draws in its own arguments")
        self._check_signature(helper, len(helper.args.args))

    def _check_signature(self, func: Function, index: int) -> None:
        args = func.args
        if func.decorator_list or args.posonlyargs or args.kwonlyargs or args.vararg or args.kwarg:
            raise _Refuse(f"`{func.name}` has a signature the rewrite does not follow")
        if len(args.args) < index or len(args.args) - len(args.defaults) < index:
            raise _Refuse(f"`{func.name}` takes fewer parameters than the scan passes")

    def _hoist_stream(self, draw: Draw) -> str:
        """The stream is made inside the step/helper: make the same one before the scan."""
        stream, func = draw.stream, draw.function
        if id(stream.statement) in self.hoisted_streams:
            return self.hoisted_streams[id(stream.statement)]
        if not _alone_in_body(self.analysis, stream.statement, func):
            raise _Refuse("the random stream is made inside a block")
        drawn = [d for d, _ in self.events if d.stream is stream]
        uses = [name for s in func.body for name in identifier_uses(s) if name == stream.reference]
        if len(uses) != 1 + len(drawn):
            raise _Refuse(f"`{stream.reference}` is used for more than the step's draws")
        # The helper's own locals go away with the draw: they do not block the name.
        taken = identifiers(self.site or self.analysis.tree, skip=func) | identifiers(self.step, skip=func)
        name = fresh_name(stream.reference, taken | self.taken_outside)
        self.taken_outside.add(name)
        self.plan.hoists.append(_Hoist(name, stream.constructor))
        self.plan.removed.append(stream.statement)
        self.hoisted_streams[id(stream.statement)] = name
        return name

    def _draw_target(self, draw: Draw) -> tuple[str, ast.stmt | None]:
        """(name, statement to remove) when the draw is ``name = <draw>`` alone on its line
        in the function's body, the name bound nowhere else in the function; else ("eps", None)."""
        assign = self.analysis.parent(draw.call)
        func = draw.function
        if (
            isinstance(assign, ast.Assign)
            and assign.value is draw.call
            and len(assign.targets) == 1
            and isinstance(assign.targets[0], ast.Name)
            and _alone_in_body(self.analysis, assign, func)
        ):
            name = assign.targets[0].id
            stores = [n for n in ast.walk(func) if isinstance(n, ast.Name) and n.id == name and not isinstance(n.ctx, ast.Load)]
            params = {a.arg for a in parameters(func)}
            if len(stores) == 1 and name not in params and name not in self.plan.new_params.get(id(func), []):
                return name, assign
        return "eps", None

    def _function(self, func: Function) -> None:
        if all(f is not func for f in self.plan.functions):
            self.plan.functions.append(func)

    def _between(self, node: ast.AST, stop: ast.AST):
        """Ancestors of ``node`` strictly below ``stop``."""
        for ancestor in self.analysis.ancestors(node):
            if ancestor is stop:
                return
            yield ancestor

    def _check_disjoint(self, nodes: list[ast.AST]) -> None:
        for node in nodes:
            if any(a is other for other in nodes if other is not node for a in self.analysis.ancestors(node)):
                raise _Refuse("the step function and the scan call are nested in each other")


# Small ast helpers -------------------------------------------------------------------
def _call_arguments(call: ast.Call) -> list[ast.expr]:
    """The argument expressions of ``call`` (the values of ``*a``, ``**k`` and ``k=v``)."""
    return [a.value if isinstance(a, ast.Starred) else a for a in call.args] + [k.value for k in call.keywords]


def _size_arg(draw: Draw) -> ast.expr:
    """The draw's static size literal: ``size=(B, H)``, or Theano's first argument."""
    arg = next((k.value for k in draw.call.keywords if k.arg == "size"), None)
    if arg is None and draw.stream.size_style == "first" and draw.call.args:
        arg = draw.call.args[0]
    if arg is None:
        raise _Refuse("the draw's size is not given" if draw.stream.size_style == "first" else "the draw has no `size=`")
    if list_items(arg) is None:
        raise _Refuse("the draw's size is not a static tuple")
    return arg


def _is_self_call(fn: ast.expr | None) -> bool:
    return isinstance(fn, ast.Attribute) and isinstance(fn.value, ast.Name) and fn.value.id == "self"


def _block_of(analysis: Analysis, statement: ast.stmt) -> list[ast.stmt] | None:
    """The statement list that holds ``statement``."""
    parent = analysis.parent(statement)
    for name in ("body", "orelse", "finalbody"):
        block = getattr(parent, name, None)
        if isinstance(block, list) and any(s is statement for s in block):
            return block
    return None


def _line_of(analysis: Analysis, statement: ast.stmt) -> list[ast.stmt] | None:
    """The statements of the source line that holds ``statement`` (``a = 1; b = 2`` is one
    line), when that line is a line of its block, not the tail of a ``def``/``if`` header."""
    block = _block_of(analysis, statement)
    if block is None:
        return None
    index = next(i for i, s in enumerate(block) if s is statement)
    start = end = index
    while start > 0 and block[start - 1].end_lineno == block[start].lineno:
        start -= 1
    while end + 1 < len(block) and block[end].end_lineno == block[end + 1].lineno:
        end += 1
    first = block[start]
    if _text_before(analysis, first).strip():
        return None
    return block[start : end + 1]


def _alone_in_body(analysis: Analysis, statement: ast.stmt, func: Function) -> bool:
    """``statement`` is directly in ``func``'s body, alone on its line."""
    line = _line_of(analysis, statement)
    return line == [statement] and any(s is statement for s in func.body)


def _text_before(analysis: Analysis, node: ast.AST) -> str:
    lines = analysis.source.splitlines(keepends=True)
    text = lines[node.lineno - 1] if 0 < node.lineno <= len(lines) else ""
    return text.encode("utf-8")[: node.col_offset].decode("utf-8", "replace")


# The rewrite (LibCST, built only when the fix is applied) ---------------------------------
def _build(ctx, plan: _Plan) -> Fix | None:
    call = ctx.node_for(plan.scan.call)
    line = next((a for a in ctx.ancestors(call) if isinstance(a, cst.SimpleStatementLine)), None) if call else None
    functions = [ctx.node_for(f) for f in plan.functions]
    if line is None or not all(isinstance(f, cst.FunctionDef) for f in functions):
        return None
    edits: dict[int, object] = {}
    for statement in plan.removed:
        node = ctx.node_for(statement)
        if node is None:
            return None
        edits[id(ctx.parent(node))] = cst.RemoveFromParent()
    for draw, name in plan.renamed:
        node = ctx.node_for(draw)
        if node is None:
            return None
        edits[id(node)] = cst.Name(name)
    for via, arguments in plan.extended.values():
        node = ctx.node_for(via)
        if node is None:
            return None
        extended = node
        for param, value in arguments:
            extended = _append_arg(extended, param, value)
        edits[id(node)] = extended

    scan_args = _cst_scan_args(call)
    hoisted = []
    for hoist in plan.hoists:
        value = ctx.node_for(hoist.call)
        if value is None:
            return None
        if hoist.draw is not None:
            value = _draw_with_steps(value, hoist, plan, scan_args)
        hoisted.append(_assign(hoist.name, value))

    fix_edits: list[tuple[cst.CSTNode, object]] = []
    for ast_func, func in zip(plan.functions, functions):
        params = plan.step_params if ast_func is plan.step else plan.new_params.get(id(ast_func), [])
        at = plan.step_index if ast_func is plan.step else None
        fix_edits.append((func, _rewrite_function(func, edits, params, at)))
    new_statement = line.deep_replace(call, _new_scan_call(call, scan_args, plan.sequences))
    first = hoisted[0].with_changes(leading_lines=line.leading_lines)
    new_statement = new_statement.with_changes(leading_lines=())  # type: ignore[union-attr]
    fix_edits.append((line, cst.FlattenSentinel([first, *hoisted[1:], new_statement])))
    return Fix(fix_edits, plan.applicability, plan.description)  # type: ignore[arg-type]


def _cst_scan_args(call: cst.Call) -> dict[str, cst.Arg]:
    """The scan call's arguments by parameter name, as LibCST nodes (see ``scan_arguments``)."""
    args: dict[str, cst.Arg] = {}
    for index, arg in enumerate(call.args):
        if arg.keyword is not None:
            args[arg.keyword.value] = arg
        elif arg.star == "" and index < len(SCAN_PARAMETERS):
            args[SCAN_PARAMETERS[index]] = arg
    return args


def _draw_with_steps(call: cst.Call, hoist: _Hoist, plan: _Plan, scan_args: dict[str, cst.Arg]) -> cst.Call:
    """The draw for all steps: a steps dimension before its size, from the stream seen
    where the scan is called."""
    draw = hoist.draw
    assert draw is not None
    size_arg = keyword(call, "size")
    if size_arg is None:  # Theano's size-first draws
        size_arg = call.args[0]
    size = size_arg.value
    if "n_steps" in scan_args:
        steps = scan_args["n_steps"].value
    else:
        sequences = scan_args["sequences"].value
        first = sequences.elements[0].value if isinstance(sequences, (cst.List, cst.Tuple)) else sequences
        steps = cst.Subscript(cst.Attribute(first, cst.Name("shape")), [cst.SubscriptElement(cst.Index(cst.Integer("0")))])
    elements = list(size.elements)  # type: ignore[attr-defined]
    if len(elements) == 1:  # (n,) -> (steps, n): no trailing comma needed
        elements[0] = elements[0].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    new_size = size.with_changes(
        elements=[cst.Element(steps, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))), *elements]
    )
    stream = cst.Name(hoist.stream) if hoist.stream is not None else call.func.value  # type: ignore[attr-defined]
    return call.deep_replace(size, new_size).with_changes(func=cst.Attribute(stream, cst.Name(draw.method)))  # type: ignore[return-value]


def _rewrite_function(func: cst.FunctionDef, edits: dict[int, object], new: list[str], at: int | None) -> cst.FunctionDef:
    """``func`` with its edits made and the new parameters inserted at ``at`` (the step:
    right after the slices of the old sequences) or appended (a helper)."""
    rewritten = func.visit(_swap(edits))
    params = list(rewritten.params.params)  # type: ignore[attr-defined]
    added = [cst.Param(cst.Name(p)) for p in new]
    if at is None:
        params.extend(added)
    else:
        params[at:at] = added
    rewritten = rewritten.with_changes(params=rewritten.params.with_changes(params=_fix_commas(params)))  # type: ignore[attr-defined]
    return _drop_unused_globals(rewritten)  # type: ignore[arg-type]


def _new_scan_call(call: cst.Call, args: dict[str, cst.Arg], names: list[str]) -> cst.Call:
    new = [cst.Name(s) for s in names]
    sequences = args.get("sequences")
    if sequences is not None and isinstance(sequences.value, (cst.List, cst.Tuple)):
        return call.deep_replace(sequences, sequences.with_changes(value=_extend(sequences.value, new)))  # type: ignore[return-value]
    items = [] if sequences is None or (isinstance(sequences.value, cst.Name) and sequences.value.value == "None") else [sequences.value]
    new_list = cst.List([cst.Element(v) for v in [*items, *new]])
    if sequences is not None:
        return call.deep_replace(sequences, sequences.with_changes(value=new_list))  # type: ignore[return-value]
    fn = args["fn"]
    arg = kwarg("sequences", new_list).with_changes(comma=fn.comma)
    all_args = list(call.args)
    position = all_args.index(fn) + 1
    if position == len(all_args):
        all_args[-1] = fn.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        arg = arg.with_changes(comma=cst.MaybeSentinel.DEFAULT)
    all_args.insert(position, arg)
    return call.with_changes(args=all_args)


def _extend(literal: cst.List | cst.Tuple, names: list[cst.Name]) -> cst.List | cst.Tuple:
    """``literal`` with more elements, laid out like the ones it has: one per line after a
    trailing comma (the new lines indented like the first element), else inline."""
    elements = list(literal.elements)
    if not elements:
        return literal.with_changes(elements=[cst.Element(n) for n in names])
    last = elements[-1]
    if not isinstance(last.comma, cst.Comma):
        return literal.with_changes(elements=[*elements, *(cst.Element(n) for n in names)])
    opening = literal.lbracket.whitespace_after if isinstance(literal, cst.List) else (
        literal.lpar[0].whitespace_after if literal.lpar else cst.SimpleWhitespace(" ")
    )
    separator = last.comma.with_changes(whitespace_after=opening)
    added = [cst.Element(n, comma=separator) for n in names]
    added[-1] = added[-1].with_changes(comma=last.comma)
    return literal.with_changes(elements=[*elements[:-1], last.with_changes(comma=separator), *added])


def _swap(edits: dict[int, object]) -> cst.CSTTransformer:
    class _Swap(cst.CSTTransformer):  # defined on use: rule modules must not import LibCST at load
        def on_leave(self, original_node, updated_node):  # type: ignore[override]
            replacement = edits.get(id(original_node), updated_node)
            if isinstance(replacement, cst.Call) and isinstance(updated_node, cst.Call) and replacement is not updated_node:
                # A helper call gaining arguments: keep the (possibly rewritten) original args.
                extra = replacement.args[len(original_node.args):]
                return updated_node.with_changes(args=[*_comma_all(updated_node.args), *extra])
            return replacement

    return _Swap()


def _append_arg(call: cst.Call, param: str, value: str) -> cst.Call:
    """``call`` with one more argument: positional, or ``param=value`` after keywords."""
    plain = all(a.keyword is None and a.star == "" for a in call.args)
    new = cst.Arg(cst.Name(value)) if plain else kwarg(param, cst.Name(value))
    return call.with_changes(args=[*_comma_all(call.args), new])


def _comma_all(args) -> list[cst.Arg]:
    out = list(args)
    if out and not isinstance(out[-1].comma, cst.Comma):
        out[-1] = out[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    return out


def _fix_commas(params: list[cst.Param]) -> list[cst.Param]:
    """Keep the last parameter's trailing-comma style; let LibCST separate the rest."""
    out = []
    for i, param in enumerate(params):
        if i < len(params) - 1 and not isinstance(param.comma, cst.Comma):
            param = param.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        out.append(param)
    return out


def _drop_unused_globals(func: cst.FunctionDef) -> cst.FunctionDef:
    """Remove ``global X`` lines left without a use of X (the stream that read X moved out)."""
    used: set[str] = set()
    stack: list[cst.CSTNode] = [func.body]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Name):
            used.add(node.value)
        elif not isinstance(node, cst.Global):
            stack.extend(node.children)

    class Drop(cst.CSTTransformer):
        def leave_Global(self, original_node, updated_node):
            kept = [n for n in updated_node.names if n.name.value in used]
            if not kept:
                return cst.RemoveFromParent()
            if len(kept) == len(updated_node.names):
                return updated_node
            kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            return updated_node.with_changes(names=kept)

    return func.visit(Drop())


def _assign(name: str, value: cst.BaseExpression) -> cst.SimpleStatementLine:
    return cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(cst.Name(name))], value)])
