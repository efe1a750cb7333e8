"""PT301 scan-random-stream."""

from __future__ import annotations

import ast
import re

import libcst as cst

from gradfix.rule import Applicability, Fix, Rule

from ._names import imports, keyword, kwarg
from ._scan import (
    MRG_STREAMS,
    Draw,
    ScanCall,
    all_names,
    bound_names,
    draws_in,
    drawn_stream,
    free_names,
    fresh_name,
    helper_calls,
    is_method,
    list_items,
    preorder,
    resolve_function,
    scan_calls,
)
from ._scopes import enclosing_class, enclosing_function

_ADVICE = (
    "`grad` through this scan raises NullTypeGradError: "
    "draw the noise for all steps outside and pass it as a sequence"
)
# Draws whose (T, ...) form is checked to give the same numbers as T per-step draws.
_BITWISE_METHODS = {"normal", "uniform"}
# Nodes between a draw and its function that make the draw conditional or repeated.
_NOT_ONCE = (
    cst.If, cst.For, cst.While, cst.With, cst.Try, cst.Lambda, cst.FunctionDef, cst.IfExp,
    cst.BooleanOperation, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp,
)


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
            isinstance(node, ast.Call)
            and (getattr(node.func, "attr", None) == "scan" or getattr(node.func, "id", None) == "scan")
            for node in ast.walk(tree)
        )

    def check(self, ctx):
        names = imports(ctx)
        if not (names.imports_module("pytensor") or names.imports_module("theano")):
            return
        for scan in scan_calls(ctx):
            fn = scan.value("fn")
            if isinstance(fn, cst.Lambda):
                draw = next((n for n in preorder(fn.body) if drawn_stream(ctx, n) is not None), None)
                if draw is not None:
                    what = ctx.code(draw.func)  # type: ignore[attr-defined]
                    message = f"the step lambda draws from a random stream (`{what}`); {_ADVICE}"
                    yield self.finding(scan.call, f"{message} (not rewritten: the step is a lambda)")
                continue
            step = resolve_function(ctx, fn, scan.call) if fn is not None else None
            if step is None:
                continue
            events = _draw_events(ctx, step)
            if not events:
                continue
            first = events[0][0]
            where = "" if first.function is step else f" in `{first.function.name.value}`"
            message = (
                f"the step function `{step.name.value}` draws from a random stream "
                f"(`{ctx.code(first.call.func)}`{where}); {_ADVICE}"
            )
            try:
                fix = _Planner(ctx, scan, step, events).fix()
            except _Refuse as why:
                yield self.finding(scan.call, f"{message} (not rewritten: {why})")
                continue
            yield self.finding(scan.call, message, fix)


class _Refuse(Exception):
    """Why a finding is reported without a fix."""


def _draw_events(ctx, step: cst.FunctionDef) -> list[tuple[Draw, cst.Call | None]]:
    """The step's draws in the order they run: its own, and those of the helpers it calls
    (with the call that reaches them)."""
    direct = {id(d.call): d for d in draws_in(ctx, step)}
    helpers = {id(call): helper for call, helper in helper_calls(ctx, step)}
    events: list[tuple[Draw, cst.Call | None]] = []
    for node in preorder(step.body):
        if id(node) in direct:
            events.append((direct[id(node)], None))
        elif id(node) in helpers:
            events.extend((draw, node) for draw in draws_in(ctx, helpers[id(node)]))
    return events


class _Planner:
    """Builds the rewrite for one scan, or raises _Refuse."""

    def __init__(self, ctx, scan: ScanCall, step: cst.FunctionDef, events) -> None:
        self.ctx, self.scan, self.step, self.events = ctx, scan, step, events
        self.site = enclosing_function(ctx, scan.call)  # None: module level
        self.site_names = all_names(self.site or ctx.module)
        self.taken_outside: set[str] = set()
        # Edits per function (id -> {id(node): replacement}); new parameters per function.
        self.edits: dict[int, dict[int, object]] = {}
        self.new_params: dict[int, list[str]] = {}
        self.functions: dict[int, cst.FunctionDef] = {}
        self.hoisted: list[cst.SimpleStatementLine] = []
        self.sequences: list[str] = []  # the new sequences' names, in draw order
        self.step_params: list[str] = []  # the step's new parameters, in the same order
        self.streams: dict[int, cst.Name] = {}  # hoisted stream constructors
        self.step_index = 0

    # The whole plan ------------------------------------------------------------------
    def fix(self) -> Fix:
        ctx, scan, step = self.ctx, self.scan, self.step
        go_backwards = scan.value("go_backwards")
        if go_backwards is not None and not (isinstance(go_backwards, cst.Name) and go_backwards.value == "False"):
            raise _Refuse("the scan may run backwards")
        if "until" in all_names(step):
            raise _Refuse("the scan may stop early (`until`)")
        statement = self._scan_statement()
        self._check_only_user(step)
        items, steps = self._sequences()
        index = len(items) + (1 if _is_self_call(scan.value("fn")) else 0)
        self._check_signature(step, index)
        if _is_self_call(scan.value("fn")) != is_method(ctx, step):
            raise _Refuse("the step function is bound in an unusual way")
        for draw, via in self.events:
            self._plan_draw(draw, via, steps)
        self.step_index = index

        edits: list[tuple[cst.CSTNode, object]] = []
        for func in self.functions.values():
            edits.append((func, self._rewrite_function(func)))
        new_statement = statement.deep_replace(scan.call, self._new_scan_call(items))
        first = self.hoisted[0].with_changes(leading_lines=statement.leading_lines)
        new_statement = new_statement.with_changes(leading_lines=())  # type: ignore[union-attr]
        edits.append((statement, cst.FlattenSentinel([first, *self.hoisted[1:], new_statement])))
        _check_disjoint([node for node, _ in edits])
        mrg = any(d.stream.qualified in MRG_STREAMS for d, _ in self.events)
        return Fix(
            edits,  # type: ignore[arg-type]
            Applicability.UNSAFE if mrg else Applicability.SAFE,
            "draw the noise for all steps before the scan and pass it as a sequence"
            + (" (MRG_RandomStreams: same model, different numbers)" if mrg else ""),
        )

    def _scan_statement(self) -> cst.SimpleStatementLine:
        line = next((a for a in self.ctx.ancestors(self.scan.call) if isinstance(a, cst.SimpleStatementLine)), None)
        if line is None or any(
            isinstance(a, (cst.BaseCompoundStatement, cst.Lambda))
            for a in _between(self.ctx, self.scan.call, line)
        ):
            raise _Refuse("the scan call is not a plain statement")
        if not isinstance(self.ctx.parent(line), (cst.IndentedBlock, cst.Module)):
            raise _Refuse("the scan call is not a plain statement")
        outside = [n for n in preorder(line) if isinstance(n, cst.Call) and n is not self.scan.call]
        names = {id(d.call) for d, _ in self.events}
        for call in outside:
            if id(call) not in names and drawn_stream(self.ctx, call) is not None:
                raise _Refuse("the scan statement draws random numbers itself")
        return line

    def _check_only_user(self, step: cst.FunctionDef) -> None:
        """The step's signature changes: nothing but this scan may call or pass it."""
        for node in preorder(self.ctx.module):
            if node is self.scan.call:
                continue
            if isinstance(node, cst.Call):
                targets = [node.func] + [a.value for a in node.args]
                if any(resolve_function(self.ctx, t, node) is step for t in targets):
                    raise _Refuse(f"`{step.name.value}` is also used elsewhere")

    def _sequences(self) -> tuple[list[cst.BaseExpression], cst.BaseExpression]:
        sequences = self.scan.value("sequences")
        n_steps = self.scan.value("n_steps")
        if sequences is None or (isinstance(sequences, cst.Name) and sequences.value == "None"):
            items: list[cst.BaseExpression] = []
        else:
            listed = list_items(sequences)
            items = listed if listed is not None else [sequences]
            if isinstance(sequences, (cst.List, cst.Tuple)) and listed is None:
                raise _Refuse("the sequences are starred")
        for item in items:
            if isinstance(item, cst.Dict) or (isinstance(item, cst.Call) and _is_dict_call(item)):
                raise _Refuse("a sequence has taps")
        if n_steps is not None:
            if isinstance(n_steps, cst.UnaryOperation):
                raise _Refuse("`n_steps` may be negative")
            return items, n_steps
        if not items:
            raise _Refuse("the number of steps is not known")
        first = items[0]
        if not isinstance(first, (cst.Name, cst.Attribute, cst.Subscript, cst.Call)):
            raise _Refuse("the first sequence is not a simple expression")
        steps = cst.Subscript(
            cst.Attribute(first, cst.Name("shape")), [cst.SubscriptElement(cst.Index(cst.Integer("0")))]
        )
        return items, steps

    # One draw --------------------------------------------------------------------------
    def _plan_draw(self, draw: Draw, via: cst.Call | None, steps: cst.BaseExpression) -> None:
        ctx, func = self.ctx, draw.function
        if draw.method not in _BITWISE_METHODS:
            raise _Refuse(f"`{draw.method}` draws are not known to split bitwise over steps")
        for node in _between(ctx, draw.call, func):
            if isinstance(node, _NOT_ONCE):
                raise _Refuse("a draw is conditional or repeated within a step")
        if via is not None:
            self._check_helper(func, via)
        size = self._size_arg(draw)
        self._check_visible(draw, func)

        stream = draw.stream
        if stream.function is func:
            stream_ref = self._hoist_stream(draw)
        elif stream.function is None or stream.reference.startswith("self.") or stream.function is self.site:
            if stream.function is None and stream.reference in self._site_bound():
                raise _Refuse(f"`{stream.reference}` means something else where the scan is called")
            if stream.reference.startswith("self."):
                self._check_self(func)
            stream_ref = draw.call.func.value  # type: ignore[attr-defined]
        else:
            raise _Refuse("the random stream is not visible where the scan is called")

        base, remove = self._draw_target(draw)
        param = base if remove is not None else fresh_name("eps", all_names(func) | set(self.new_params.get(id(func), [])))
        self._function(func)
        self.new_params.setdefault(id(func), [])
        edits = self.edits.setdefault(id(func), {})
        if remove is not None:
            edits[id(remove)] = cst.RemoveFromParent()
        else:
            edits[id(draw.call)] = cst.Name(param)
        self.new_params[id(func)].append(param)
        step_param = param
        if via is not None:
            step_param = fresh_name(base, all_names(self.step) | set(self.new_params.get(id(self.step), [])))
            self._function(self.step)
            self.new_params.setdefault(id(self.step), []).append(step_param)
            step_edits = self.edits.setdefault(id(self.step), {})
            step_edits[id(via)] = _append_arg(step_edits.get(id(via), via), param, step_param)  # type: ignore[arg-type]
        self.step_params.append(step_param)

        outer = fresh_name(f"{step_param}_seq", self.site_names | all_names(self.step) | self.taken_outside)
        self.taken_outside.add(outer)
        elements = list(size.elements)
        if len(elements) == 1:  # (n,) -> (steps, n): no trailing comma needed
            elements[0] = elements[0].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        new_size = size.with_changes(
            elements=[cst.Element(steps, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))), *elements]
        )
        outer_call = draw.call.deep_replace(size, new_size).with_changes(
            func=cst.Attribute(stream_ref, cst.Name(draw.method))
        )
        self.hoisted.append(_assign(outer, outer_call))
        self.sequences.append(outer)

    def _size_arg(self, draw: Draw) -> cst.List | cst.Tuple:
        arg = keyword(draw.call, "size")
        if arg is None and draw.stream.size_style == "first" and draw.call.args and draw.call.args[0].keyword is None:
            arg = draw.call.args[0]
        if arg is None:
            raise _Refuse("the draw's size is not given" if draw.stream.size_style == "first" else "the draw has no `size=`")
        if not isinstance(arg.value, (cst.List, cst.Tuple)) or list_items(arg.value) is None:
            raise _Refuse("the draw's size is not a static tuple")
        return arg.value

    def _check_visible(self, draw: Draw, func: cst.FunctionDef) -> None:
        """Every name the draw reads must mean the same thing where the scan is called."""
        local = bound_names(func)
        names: set[str] = set()
        for arg in draw.call.args:
            names |= free_names(arg.value)
        if draw.stream.function is func:
            for arg in draw.stream.constructor.args:
                names |= free_names(arg.value)
        names.discard(draw.stream.reference)
        nested = self.site is not None and any(a is self.site for a in self.ctx.ancestors(func))
        for name in names:
            if name == "self":
                self._check_self(func)
            elif name in local:
                raise _Refuse(f"the draw's arguments depend on `{name}`, computed inside the step")
            elif not nested and name in self._site_bound():
                raise _Refuse(f"`{name}` means something else where the scan is called")

    def _site_bound(self) -> set[str]:
        return bound_names(self.site) if self.site is not None else set()

    def _check_self(self, func: cst.FunctionDef) -> None:
        site = self.site
        if (
            site is None
            or not site.params.params
            or site.params.params[0].name.value != "self"
            or enclosing_class(self.ctx, site) is not enclosing_class(self.ctx, func)
        ):
            raise _Refuse("`self` is not the same object where the scan is called")

    def _check_helper(self, helper: cst.FunctionDef, via: cst.Call) -> None:
        callers = [
            n for n in preorder(self.ctx.module)
            if isinstance(n, cst.Call) and resolve_function(self.ctx, n.func, n) is helper
        ]
        if callers != [via]:
            raise _Refuse(f"`{helper.name.value}` is called from more than the step")
        for node in _between(self.ctx, via, self.step):
            if isinstance(node, _NOT_ONCE):
                raise _Refuse(f"`{helper.name.value}` is called conditionally or repeatedly")
        if any(drawn_stream(self.ctx, n) is not None for arg in via.args for n in preorder(arg)):
            raise _Refuse("the helper call draws in its own arguments")
        self._check_signature(helper, len(helper.params.params))

    def _check_signature(self, func: cst.FunctionDef, index: int) -> None:
        params = func.params
        if func.decorators or params.posonly_params or params.kwonly_params or isinstance(params.star_arg, cst.Param) or params.star_kwarg:
            raise _Refuse(f"`{func.name.value}` has a signature the rewrite does not follow")
        if len(params.params) < index or any(p.default is not None for p in params.params[:index]):
            raise _Refuse(f"`{func.name.value}` takes fewer parameters than the scan passes")

    def _hoist_stream(self, draw: Draw) -> cst.Name:
        """The stream is made inside the step/helper: make the same one before the scan."""
        stream, func = draw.stream, draw.function
        if id(stream.statement) in self.streams:
            return self.streams[id(stream.statement)]
        if self.ctx.parent(stream.statement) is not func.body or len(stream.statement.body) != 1:  # type: ignore[attr-defined]
            raise _Refuse("the random stream is made inside a block")
        drawn = [d for d, _ in self.events if d.stream is stream]
        uses = [n for n in preorder(func.body) if isinstance(n, cst.Name) and n.value == stream.reference]
        if len(uses) != 1 + len(drawn):
            raise _Refuse(f"`{stream.reference}` is used for more than the step's draws")
        # The helper's own locals go away with the draw: they do not block the name.
        taken = all_names(self.site or self.ctx.module, skip=func) | all_names(self.step, skip=func)
        name = cst.Name(fresh_name(stream.reference, taken | self.taken_outside))
        self.taken_outside.add(name.value)
        self.hoisted.append(_assign(name.value, stream.constructor))
        self.edits.setdefault(id(func), {})[id(stream.statement)] = cst.RemoveFromParent()
        self.streams[id(stream.statement)] = name
        return name

    def _draw_target(self, draw: Draw) -> tuple[str, cst.SimpleStatementLine | None]:
        """(name, statement to remove) when the draw is ``name = <draw>`` on its own line,
        the name bound nowhere else in the function; else ("eps", None)."""
        line = self.ctx.parent(self.ctx.parent(draw.call))
        assign = self.ctx.parent(draw.call)
        if (
            isinstance(assign, cst.Assign)
            and isinstance(line, cst.SimpleStatementLine)
            and len(line.body) == 1
            and len(assign.targets) == 1
            and isinstance(assign.targets[0].target, cst.Name)
            and self.ctx.parent(line) is draw.function.body
        ):
            name = assign.targets[0].target.value
            assigned = [
                n for n in preorder(draw.function)
                if isinstance(n, cst.AssignTarget) and isinstance(n.target, cst.Name) and n.target.value == name
            ]
            params = {p.name.value for p in draw.function.params.params}
            if len(assigned) == 1 and name not in params and name not in self.new_params.get(id(draw.function), []):
                return name, line
        return "eps", None

    def _function(self, func: cst.FunctionDef) -> None:
        self.functions[id(func)] = func

    # Rewriting -------------------------------------------------------------------------
    def _rewrite_function(self, func: cst.FunctionDef) -> cst.FunctionDef:
        new = func.visit(_Swap(self.edits.get(id(func), {})))
        params = list(new.params.params)
        if func is self.step:
            # The slices of the new sequences, in their order, right after the old ones'.
            params[self.step_index:self.step_index] = [cst.Param(cst.Name(p)) for p in self.step_params]
        else:
            params.extend(cst.Param(cst.Name(p)) for p in self.new_params.get(id(func), []))
        new = new.with_changes(params=new.params.with_changes(params=_fix_commas(params)))
        return _drop_unused_globals(new)

    def _new_scan_call(self, items: list[cst.BaseExpression]) -> cst.Call:
        scan, new = self.scan, [cst.Name(s) for s in self.sequences]
        sequences = scan.args.get("sequences")
        if sequences is not None and isinstance(sequences.value, (cst.List, cst.Tuple)):
            value = _extend(sequences.value, new)
            return scan.call.deep_replace(sequences, sequences.with_changes(value=value))
        new_list = cst.List([cst.Element(v) for v in [*items, *new]])
        if sequences is not None:
            return scan.call.deep_replace(sequences, sequences.with_changes(value=new_list))
        fn = scan.args["fn"]
        arg = kwarg("sequences", new_list).with_changes(comma=fn.comma)
        args = list(scan.call.args)
        position = args.index(fn) + 1
        if position == len(args):
            args[-1] = fn.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            arg = arg.with_changes(comma=cst.MaybeSentinel.DEFAULT)
        args.insert(position, arg)
        return scan.call.with_changes(args=args)


# Small helpers ------------------------------------------------------------------------
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


class _Swap(cst.CSTTransformer):
    def __init__(self, edits: dict[int, object]) -> None:
        self.edits = edits

    def on_leave(self, original_node, updated_node):  # type: ignore[override]
        replacement = self.edits.get(id(original_node), updated_node)
        if isinstance(replacement, cst.Call) and isinstance(updated_node, cst.Call) and replacement is not updated_node:
            # A helper call gaining arguments: keep the (possibly rewritten) original args.
            extra = replacement.args[len(original_node.args):]
            return updated_node.with_changes(args=[*_comma_all(updated_node.args), *extra])
        return replacement


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


def _is_self_call(fn: cst.BaseExpression | None) -> bool:
    return isinstance(fn, cst.Attribute) and isinstance(fn.value, cst.Name) and fn.value.value == "self"


def _is_dict_call(call: cst.Call) -> bool:
    return isinstance(call.func, cst.Name) and call.func.value == "dict"


def _between(ctx, node: cst.CSTNode, stop: cst.CSTNode):
    """Ancestors of ``node`` strictly below ``stop``."""
    for ancestor in ctx.ancestors(node):
        if ancestor is stop:
            return
        yield ancestor


def _check_disjoint(nodes: list[cst.CSTNode]) -> None:
    for i, a in enumerate(nodes):
        inside = {id(n) for n in preorder(a)}
        if any(id(b) in inside for j, b in enumerate(nodes) if j != i):
            raise _Refuse("the step function and the scan call are nested in each other")
