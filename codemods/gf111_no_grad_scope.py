"""GF111 no-grad-scope."""

from __future__ import annotations

import ast
import builtins
import re
from dataclasses import dataclass, field
from functools import partial

import libcst as cst

from gradfix.rule import Applicability, Fix, LazyFix, Rule

from . import _torch
from ._ast import attributes_named, has_loss_root, names_named, nodes_of, outside_unreachable
from ._flow_ast import LOOPS, forcing_call, is_backward_call, statements, target_names, walk
from ._hacks import dropping, forcing
from ._losspath import arguments_for, calls_of, loss_path
from ._text import ANYTHING, BACKPROP, backpropagates
from ._values import Analysis, Function, Graph, Kind, dotted, grad_disabling

# The last names of what disables grad (``_torch.GRAD_DISABLING``, ``torch.set_grad_enabled``).
_DISABLING_NAMES = {"no_grad", "inference_mode", "set_grad_enabled"}
# Compound statements that do not make the statements in them conditional.
_TRANSPARENT = (ast.With, ast.AsyncWith, ast.Try, *((ast.TryStar,) if hasattr(ast, "TryStar") else ()))


class NoGradScope(Rule):
    """
    The training loss computed under `torch.no_grad()` has no graph to backpropagate.

    Inside `with torch.no_grad():` (also `torch.inference_mode()`,
    `torch.set_grad_enabled(False)`, and functions decorated with them) autograd records
    nothing: a model's output computed there has no `grad_fn`. When that output is the only
    way the parameters reach the loss, `loss.backward()` raises "element 0 of tensors does
    not require grad and does not have a grad_fn" (or, when another term keeps a graph, the
    model's parameters silently get no gradient). The same happens one call away: a
    `forward` (or a helper of the same file) decorated with `@torch.no_grad()` and called
    from the training step. Under `torch.inference_mode()` even data is a trap: a tensor
    made there and then fed to a trained module with grad on makes the forward raise
    "Inference tensors cannot be saved for backward".

    The fix computes the loss path with grad enabled: the `with` block is dedented when
    every statement in it is on the loss path, and a `@torch.no_grad()` decorator is dropped
    when every caller of the function in the file is a training step (or already runs under
    no_grad); an inference tensor's `torch.inference_mode()` becomes `torch.no_grad()`.
    Grad mode does not change values, so the forward is bitwise equal.

    Bad:

        with torch.no_grad():
            logits = model(x)
        loss = F.cross_entropy(logits, y)
        loss.backward()              # RuntimeError: element 0 of tensors does not require grad

    Good:

        logits = model(x)
        loss = F.cross_entropy(logits, y)
        loss.backward()

    Left alone: everything under no_grad that is not the only path from the parameters to
    a backpropagated loss: evaluation loops, EMA and target-network updates, targets and
    teacher outputs (the other operand of the loss carries the graph: `with
    torch.no_grad(): target = r + gamma * target_net(s2).max(1)[0]`), self-conditioning,
    metrics, data preparation, weight clipping and manual SGD updates.

    Fix safety: safe; the block or decorator is removed only where it holds nothing but
    the loss-path computation (and the step's own `backward()`, optimizer calls and
    prints); `with torch.no_grad(), torch.autocast(...)` keeps autocast. A block that also
    holds other work (metrics, in-place updates), a function also called outside training,
    and `torch.set_grad_enabled(False)` as a statement are reported without a fix.
    """

    code = "GF111"
    name = "no-grad-scope"
    summary = "the training loss, or the only path to it, is computed under `torch.no_grad()`; compute it with grad enabled"
    # What disables grad (``grad_disabling``, ``_disables``: torch.no_grad, torch.inference_mode,
    # torch.set_grad_enabled, however imported: the file names one), and a loss root of
    # ``_losspath`` (every finding is a step back from one).
    requires = (tuple(_DISABLING_NAMES), BACKPROP)
    trigger = ANYTHING
    text_check = staticmethod(backpropagates)

    @staticmethod
    def quick_check(tree: ast.Module) -> bool:
        """A loss root of ``_losspath`` (a backward call, ``manual_backward(loss)``, an optimizer
        ``step(closure)`` with a closure of the file, a ``training_step``), and code that names
        what disables grad (``torch.no_grad``, or a name imported as it) where a loss path may
        go (``outside_unreachable``: not in an evaluation function nothing in the file calls)."""
        if not has_loss_root(tree):
            return False
        if any(outside_unreachable(tree, n) for n in attributes_named(tree, _DISABLING_NAMES)):
            return True
        imported = {
            a.asname or a.name for n in nodes_of(tree, ast.ImportFrom, ast.Import) for a in n.names
            if a.name.rsplit(".", 1)[-1] in _DISABLING_NAMES
        }
        return any(outside_unreachable(tree, n) for n in names_named(tree, imported))

    def detect(self, analysis: Analysis):
        if not analysis.imports.imports_module("torch"):
            return
        study = _Study(analysis)
        steps = [step for step in (study.step(root) for root in loss_path(analysis).roots) if step is not None]
        training_statements = {id(s) for step in steps for s in step.path}
        reported: set[int] = set()
        for step in steps:
            if step.inference and (not step.producers or step.has_other_source):
                producer = step.inference[0]
                if id(producer.region.node) not in reported:
                    reported.add(id(producer.region.node))
                    yield self._inference_finding(step, producer)
                continue
            if not step.producers or step.has_other_source:
                continue
            producer = step.producers[0]
            if id(producer.region.node) in reported:
                continue
            reported.add(id(producer.region.node))
            finding = self._finding(study, step, producer, training_statements)
            if isinstance(finding.fix, LazyFix):
                finding.fix = dropping(finding.fix, step.hacks)
            yield finding

    def _inference_finding(self, step: "_Step", producer: "_Producer"):
        names = sorted(target_names(producer.statement.targets[0])) if isinstance(producer.statement, ast.Assign) else []
        value = f"`{names[0]}`" if len(names) == 1 else "a value"
        consumer = ast.unparse(producer.call.func) if producer.call is not None else "a module"
        message = (
            f"{value} is created under {producer.region.describe()} and then goes into `{consumer}(...)` with grad on: "
            f"backward raises \"Inference tensors cannot be saved for backward\"; use `torch.no_grad()` there"
        )
        call = producer.region.call
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and not call.args and not call.keywords):
            return self.finding(producer.statement, f"{message} (not fixed: `inference_mode` is not spelled `torch.inference_mode()`)")
        return self.finding(
            producer.statement, message,
            LazyFix(partial(_to_no_grad, call=call), Applicability.SAFE, "use `torch.no_grad()` instead of `torch.inference_mode()`"),
        )

    def _finding(self, study: "_Study", step: "_Step", producer: "_Producer", training: set[int]):
        region = producer.region
        root = ast.unparse(step.root) if len(ast.unparse(step.root)) <= 30 else "the loss"
        what = region.describe()
        if producer.call is not None:
            callee = producer.callee_name
            how = f"runs under {what}" if region.kind == "decorator" else f"computes its result under {what}"
            message = (
                f"`{callee}` {how}, so `{root}` has no graph from the parameters {step.consequence()}; "
                f"compute it with grad enabled"
            )
            if not study.only_training_callers(producer.callee, training):
                return self.finding(producer.statement, f"{message} (not fixed: the function is also called outside training)")
            if region.kind == "with":
                reason = study.why_not_dedented_in_callee(region.node, producer.callee)
                if reason is not None:
                    return self.finding(producer.statement, f"{message} (not fixed: {reason})")
                return self.finding(
                    producer.statement, message,
                    LazyFix(partial(_dedent, block=region.node, grad_item=region.item), Applicability.SAFE, f"compute `{callee}`'s result outside {what}"),
                )
            if region.kind != "decorator":
                return self.finding(producer.statement, f"{message} (not fixed: grad mode is switched off by a statement, not a block)")
            return self.finding(
                producer.statement, message,
                LazyFix(partial(_drop_decorator, function=producer.callee, decorator=region.decorator),
                        Applicability.SAFE, f"remove `@{ast.unparse(region.decorator)}` from `{callee}`"),
            )
        names = sorted(target_names(producer.statement.targets[0]) if isinstance(producer.statement, ast.Assign) else set())
        value = f"`{names[0]}`" if len(names) == 1 else "the model output"
        if value == f"`{root}`":
            message = f"{value} is computed under {what}: it has no graph from the parameters {step.consequence()}; compute it with grad enabled"
        else:
            message = (
                f"{value} is computed under {what}, so `{root}` has no graph from the parameters {step.consequence()}; "
                f"compute it with grad enabled"
            )
        if region.kind == "decorator":
            if any(a is region.node for a in study.a.ancestors(step.root)):
                # The decorated function is the training step itself.
                reason = study.why_not_undecorated(region.node, training)
                if reason is not None:
                    return self.finding(producer.statement, f"{message} (not fixed: {reason})")
            elif not study.only_training_callers(region.node, training):
                return self.finding(producer.statement, f"{message} (not fixed: the function is also called outside training)")
            return self.finding(
                producer.statement, message,
                LazyFix(partial(_drop_decorator, function=region.node, decorator=region.decorator),
                        Applicability.SAFE, f"remove `@{ast.unparse(region.decorator)}`"),
            )
        if region.kind == "statement":
            return self.finding(producer.statement, f"{message} (not fixed: grad mode is switched off by a statement, not a block)")
        reason = study.why_not_dedented(region.node, training)
        if reason is not None:
            return self.finding(producer.statement, f"{message} (not fixed: {reason})")
        return self.finding(
            producer.statement, message,
            LazyFix(partial(_dedent, block=region.node, grad_item=region.item), Applicability.SAFE, f"compute the block outside {what}"),
        )


# Detection ------------------------------------------------------------------------------------
@dataclass
class _Region:
    kind: str  # "with", "decorator", "statement"
    node: ast.AST  # the With, the decorated function, or the `set_grad_enabled(False)` statement
    decorator: ast.expr | None = None
    call: ast.expr | None = None  # what disables grad

    @property
    def item(self) -> ast.withitem | None:
        """The item of a ``with`` region that disables grad."""
        return next((i for i in getattr(self.node, "items", []) if i.context_expr is self.call), None)

    def describe(self) -> str:
        text = ast.unparse(self.call) if self.call is not None else "no_grad"
        return f"`@{text}`" if self.kind == "decorator" else f"`{text}`"


@dataclass
class _Producer:
    statement: ast.stmt
    region: _Region
    call: ast.Call | None = None  # a call of a function of this file that disables grad (one hop)
    callee: Function | None = None

    callee_name: str = ""


@dataclass
class _Step:
    root: ast.expr
    path: list[ast.stmt] = field(default_factory=list)  # statements on the loss path, the backward's too
    producers: list[_Producer] = field(default_factory=list)
    has_other_source: bool = False
    # Inference tensors that a module with parameters takes in with grad on (backward raises).
    inference: list[_Producer] = field(default_factory=list)
    # `loss.requires_grad = True` and the like on the path: they hide the cut (backward runs).
    hacks: list[ast.AST] = field(default_factory=list)

    def consequence(self) -> str:
        """What the cut does to the backward call."""
        if not self.hacks:
            return "and cannot be backpropagated"
        hack = self.hacks[0]
        text = ".requires_grad_()" if isinstance(hack, ast.Call) else ast.unparse(hack).strip()
        return f"(`{text}` on line {hack.lineno} only hides that: backward runs and no parameter gets a gradient)"


@dataclass
class _Unit:
    """A statement as the loss path sees it: what it binds and what it reads."""

    stmt: ast.stmt
    writes: set[str]
    reads: set[str]
    plain: bool  # an assignment that replaces every name it writes


class _Study:
    def __init__(self, analysis: Analysis) -> None:
        self.a = analysis
        self.path = loss_path(analysis)
        self._units: dict[int, list[_Unit]] = {}
        self._callees: dict[int, tuple[bool, ast.expr | None]] = {}  # function id -> (bears parameters, no_grad decorator)
        self._return_regions: dict[int, _Region | None] = {}  # function id -> the region of its first return in one

    def _qualified_name(self, function: Function) -> str:
        info = self._class_of(function)
        return f"{info.node.name}.{function.name}" if info is not None else function.name

    def _class_of(self, function: Function):
        """The first class whose method of that name is ``function``, from a table built once
        (a scan of every class per function is quadratic in the number of classes)."""
        table = self.a.memo.get("GF111 class of method")
        if table is None:
            table = self.a.memo["GF111 class of method"] = {}
            for info in self.a.classes.values():
                for method in info.methods.values():
                    if info.methods.get(method.name) is method:
                        table.setdefault(id(method), info)
        return table.get(id(function))

    # The loss path ---------------------------------------------------------------------------
    def _passed_a_graph(self, function: Function, parameter: str) -> bool:
        """Some caller of ``function`` in this file passes, for ``parameter``, a value that may
        carry a graph from the parameters (a model output computed outside no_grad)."""
        for call in calls_of(self.a, function):
            for argument in arguments_for(function, call, parameter):
                if self.a.value(argument).kind in _OBJECTS:
                    continue  # the model or optimizer itself, not a value computed from it
                if self.a.value(argument).carries:
                    return True
                caller = self.step(argument, depth=1)
                if caller is not None and caller.has_other_source:
                    return True
        return False

    def step(self, root: ast.AST, depth: int = 0) -> _Step | None:
        """The loss path back from one loss root (what a backward call differentiates, what a
        ``training_step`` returns), within the root's scope."""
        if not isinstance(root, (ast.Name, ast.Attribute, ast.Call, ast.BinOp, ast.Subscript)):
            return None
        statement = self._statement_of(root)
        if statement is None:
            return None
        scope = self.a.enclosing_function(statement) or self.a.tree
        units = self._scope_units(scope)
        index = next((i for i, u in enumerate(units) if u.stmt is statement), None)
        if index is None:
            return None
        step = _Step(root, [statement])
        needed = _reads(root)
        on_path: list[_Unit] = []
        # Back from the backward call; in a loop, through the previous iteration too, then
        # what runs before the loop.
        order = list(reversed(units[:index]))
        loop = self._outermost_loop(statement, scope)
        if loop is not None:
            inside = {id(s) for s in statements(loop.body)} | {id(loop)}
            earlier = [u for u in reversed(units[:index]) if id(u.stmt) in inside]
            later = [u for u in reversed(units[index + 1:]) if id(u.stmt) in inside]
            before = [u for u in reversed(units[:index]) if id(u.stmt) not in inside]
            order = earlier + later + earlier + before
        seen: set[int] = set()
        around = {id(a) for a in self.a.ancestors(statement) if isinstance(a, (ast.For, ast.AsyncFor))}
        for unit in order:
            matched = {n for n in needed if any(_same(n, w) for w in unit.writes)}
            if not matched:
                continue
            if id(unit.stmt) not in seen:
                seen.add(id(unit.stmt))
                on_path.append(unit)
            if unit.plain and self._dominates(unit.stmt, statement, scope):
                needed -= {n for n in matched if any(n == w or n.startswith(w + ".") for w in unit.writes)}
            if id(unit.stmt) in around:
                continue  # the batches a training loop runs over are its data, not a path from the parameters
            needed |= unit.reads
        step.path += [u.stmt for u in on_path]
        backward_region = self.region(statement)
        defined = set().union(*(u.writes for u in on_path)) if on_path else set()
        if backward_region is None and self._source(root, defined):
            step.has_other_source = True
        if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)) and depth == 0:
            read = _reads(root).union(*(u.reads for u in on_path)) if on_path else _reads(root)
            parameters = {a.arg for a in (*scope.args.posonlyargs, *scope.args.args, *scope.args.kwonlyargs)}
            if any(self._passed_a_graph(scope, name) for name in (read & parameters) - defined):
                step.has_other_source = True
        inference: dict[str, tuple[ast.stmt, _Region]] = {}  # name -> where it became an inference tensor
        for unit in reversed(on_path):  # source order
            region = self.region(unit.stmt)
            if region is not None:
                value = unit.stmt.value if isinstance(unit.stmt, (ast.Assign, ast.AnnAssign)) else None
                if value is not None and self.path.on_path(value) and self._bears_parameters(value):
                    step.producers.append(_Producer(unit.stmt, region))
                if value is not None and region.call is not None and self.a.qualify(_called(region.call)) == "torch.inference_mode":
                    inference.update({name: (unit.stmt, region) for name in unit.writes})
                continue
            value = _value_of(unit.stmt)
            if value is None or id(unit.stmt) in around:
                continue
            for call in _own_nodes(value, ast.Call):
                used = _reads([*call.args, *(k.value for k in call.keywords)]) & inference.keys()
                if used and self._runs_parameters(call, strict=True) and not step.inference:
                    name = sorted(used)[0]
                    step.inference.append(_Producer(inference[name][0], inference[name][1], call))
                callee, region = self._grad_disabling_callee(call)
                if callee is not None and self.path.on_path(call):
                    step.producers.append(_Producer(unit.stmt, region, call, callee, self._qualified_name(callee)))
            if self._source(value, defined, exclude=[p.call for p in step.producers if p.call is not None]):
                step.has_other_source = True
        if backward_region is not None and not step.producers and self._bears_parameters(root):
            step.producers.append(_Producer(statement, backward_region))
        root_value = self.a.value(root)
        if root_value.leaf:
            # A leaf made by forcing `requires_grad` on a value with no graph: the cut is hidden.
            names = _reads(root) | defined
            step.hacks = forcing(self.a, statement, names)
            step.hacks += [u.stmt.value for u in on_path if isinstance(u.stmt, ast.Assign) and forcing_call(u.stmt.value)]
            if step.hacks:
                step.has_other_source = False  # nothing upstream of the fresh leaf reaches backward
        elif root_value.carries and not any(self._unmodelled(p.region) for p in step.producers):
            step.producers = []  # the analysis sees a graph reach the loss
        return step

    def _unmodelled(self, region: _Region) -> bool:
        """A region the value analysis does not know as grad-disabled (its values keep their graph there)."""
        return region.kind == "statement" or (region.call is not None and grad_disabling(region.call, self.a.imports) is None)

    def _scope_units(self, scope: ast.AST) -> list[_Unit]:
        units = self._units.get(id(scope))
        if units is None:
            units = self._units[id(scope)] = [_unit(s) or _Unit(s, set(), set(), False) for s in statements(scope.body)]
        return units

    def _statement_of(self, node: ast.AST) -> ast.stmt | None:
        for ancestor in self.a.ancestors(node):
            if isinstance(ancestor, ast.stmt):
                return ancestor
        return None

    def _outermost_loop(self, statement: ast.stmt, scope: ast.AST):
        found = None
        for ancestor in self.a.ancestors(statement):
            if ancestor is scope:
                break
            if isinstance(ancestor, LOOPS):
                found = ancestor
        return found

    def _dominates(self, stmt: ast.stmt, target: ast.stmt, scope: ast.AST) -> bool:
        """``stmt`` runs whenever ``target`` does (its compound statements hold ``target`` too, or are blocks such as ``with``)."""
        around = {id(a) for a in self.a.ancestors(target)}
        for ancestor in self.a.ancestors(stmt):
            if ancestor is scope:
                return True
            if id(ancestor) not in around and not isinstance(ancestor, _TRANSPARENT):
                return False
        return True

    # What a fix may remove ------------------------------------------------------------------
    def why_not_dedented(self, block: ast.With, training: set[int]) -> str | None:
        if isinstance(block, ast.AsyncWith) or not self._grad_item_alone(block):
            return "the `with` statement does more than disable grad"
        for stmt in block.body:
            if id(stmt) in training and not self._updates_a_leaf(stmt):
                continue
            if self._training_call(stmt):
                continue
            return "the block also holds statements that are not on the loss path"
        return None

    def why_not_undecorated(self, function: Function, training: set[int]) -> str | None:
        """A training step decorated with no_grad may lose the decorator when all it does is the step."""
        for stmt in statements(function.body):
            if isinstance(stmt, (ast.If, ast.For, ast.AsyncFor, ast.While, ast.Return, ast.Pass)) and not self._updates_a_leaf(stmt):
                continue
            if (id(stmt) in training and not self._updates_a_leaf(stmt)) or self._training_call(stmt):
                continue
            return "the function also holds statements that are not on the loss path"
        return None

    def why_not_dedented_in_callee(self, block: ast.With, function: Function) -> str | None:
        """A no-grad block in a called function may go when it holds only what the function returns."""
        if isinstance(block, ast.AsyncWith) or not self._grad_item_alone(block):
            return "the `with` statement does more than disable grad"
        returned = set().union(*(_reads(n.value) for n in walk(function.body) if isinstance(n, ast.Return) and n.value is not None))
        for stmt in reversed(block.body):
            if isinstance(stmt, ast.Return) and stmt.value is not None:
                continue
            unit = _unit(stmt)
            if unit is None or not isinstance(stmt, ast.Assign) or not unit.writes or not unit.writes <= returned:
                return "the block in the called function also holds other work"
            returned |= unit.reads
        return None

    def _grad_item_alone(self, block: ast.With) -> bool:
        """Exactly one item disables grad, binds no name, and the others do not switch grad mode."""
        states = [self._disables(item.context_expr) for item in block.items]
        disabling = [item for item, state in zip(block.items, states) if state is True]
        return len(disabling) == 1 and disabling[0].optional_vars is None and False not in states

    def _updates_a_leaf(self, stmt: ast.stmt) -> bool:
        """An in-place write to a parameter or leaf (legal only under no_grad)."""
        if isinstance(stmt, ast.AugAssign):
            return self.a.value(stmt.target).leaf or any(self.a.value(n).leaf for n in _own_nodes(stmt.target, (ast.Name, ast.Attribute)))
        for call in _own_nodes(stmt, ast.Call):
            if isinstance(call.func, ast.Attribute) and call.func.attr.endswith("_") and self.a.value(call.func.value).leaf:
                return True
        return False

    def _training_call(self, stmt: ast.stmt) -> bool:
        """``loss.backward()``, ``optimizer.step()``, ``optimizer.zero_grad()``, ``print(...)``:
        the same with grad enabled."""
        if not isinstance(stmt, ast.Expr) or not isinstance(stmt.value, ast.Call):
            return False
        call = stmt.value
        if is_backward_call(self.a, call) or (isinstance(call.func, ast.Name) and call.func.id == "print" and "print" not in self.a.functions):
            return True
        return isinstance(call.func, ast.Attribute) and self.a.value(call.func.value).kind is Kind.OPTIMIZER

    def _base_names(self) -> set[str | None]:
        """The dotted base of every class of the file (once per file)."""
        found = self.a.memo.get("GF111 base names")
        if found is None:
            found = self.a.memo["GF111 base names"] = {dotted(b) for c in self.a.classes.values() for b in c.node.bases}
        return found  # type: ignore[return-value]

    def _module_calls(self, info) -> list[ast.Call]:
        """The calls of instances of ``info``'s class (a module value of that name, or ``self(...)``
        in the class), in ``analysis.calls()`` order, from one table per file."""
        table = self.a.memo.get("GF111 module calls")
        if table is None:
            table = self.a.memo["GF111 module calls"] = {}
            for index, call in enumerate(self.a.calls()):
                func = self.a.value(call.func)
                if func.kind is Kind.MODULE:
                    table.setdefault(("module", func.name), []).append((index, call))
                if isinstance(call.func, ast.Name) and call.func.id == "self":
                    owner = self.a.enclosing_class(call)
                    if owner is not None:
                        table.setdefault(("self", id(owner)), []).append((index, call))
        found = dict(table.get(("module", info.node.name), []))
        found.update(table.get(("self", id(info)), []))
        return [found[index] for index in sorted(found)]

    def only_training_callers(self, function: Function, training: set[int]) -> bool:
        """Every use of ``function`` in the file is a call on a loss path or under no_grad."""
        info = self._class_of(function)
        if self.a.enclosing_function(function) is not None:
            return False
        calls: list[ast.Call] = []
        if info is None:
            for node in _names_by_id(self.a).get(function.name, ()):
                if isinstance(node.ctx, ast.Load):
                    parent = self.a.parent(node)
                    if not (isinstance(parent, ast.Call) and parent.func is node):
                        return False
                    calls.append(parent)
        else:
            if info.node.name in self._base_names():
                return False  # a subclass may call it too
            for node in self.a.attributes_named(function.name):
                parent = self.a.parent(node)
                if not (isinstance(parent, ast.Call) and parent.func is node):
                    return False
                calls.append(parent)
            if function.name == "forward":
                calls.extend(self._module_calls(info))
        if not calls:
            return False
        for call in calls:
            statement = self._statement_of(call)
            if statement is None or not (id(statement) in training or self.region(statement) is not None):
                return False
        return True

    # Grad-disabled regions ----------------------------------------------------------------
    def region(self, stmt: ast.stmt) -> _Region | None:
        """The innermost grad-disabling block around ``stmt`` in its scope, or its function's decorator."""
        child: ast.AST = stmt
        for ancestor in self.a.ancestors(stmt):
            if isinstance(ancestor, (ast.With, ast.AsyncWith)):
                states = [(self._disables(item.context_expr), item.context_expr) for item in ancestor.items]
                if any(s is True for s, _ in states):
                    return _Region("with", ancestor, call=next(e for s, e in states if s is True))
                if any(s is False for s, _ in states):
                    return None
            switched = self._switched_off_before(ancestor, child)
            if switched is not None:
                return switched
            if isinstance(ancestor, (ast.FunctionDef, ast.AsyncFunctionDef)):
                decorator = self._disabling_decorator(ancestor)
                return _Region("decorator", ancestor, decorator, decorator) if decorator is not None else None
            if isinstance(ancestor, (ast.Lambda, ast.ClassDef)):
                return None
            child = ancestor
        return None

    def _switched_off_before(self, parent: ast.AST, child: ast.AST) -> _Region | None:
        """A ``torch.set_grad_enabled(False)`` statement earlier in the block holding ``child``."""
        for name in ("body", "orelse", "finalbody"):
            block = getattr(parent, name, None)
            if not isinstance(block, list) or not any(s is child for s in block):
                continue
            state = None
            for stmt in block:
                if stmt is child:
                    break
                if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) and self.a.qualify(stmt.value.func) == "torch.set_grad_enabled":
                    disabled = self._disables(stmt.value)
                    if disabled is not None:
                        state = stmt if disabled else None
            if state is not None:
                return _Region("statement", state, call=state.value)
        return None

    def _disables(self, expr: ast.AST) -> bool | None:
        state = grad_disabling(expr, self.a.imports)
        if state is not None or not isinstance(expr, ast.Call) or self.a.qualify(expr.func) != "torch.set_grad_enabled":
            return state
        if expr.args and isinstance(expr.args[0], ast.Name) and self._always_false(expr.args[0]):
            return True
        return None

    def _always_false(self, name: ast.Name) -> bool:
        """``name`` is bound only to the constant False in its scope (and is no parameter)."""
        scope = self.a.enclosing_function(name) or self.a.tree
        if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if name.id in {a.arg for a in ast.walk(scope.args) if isinstance(a, ast.arg)}:
                return False
            if name.id not in {n for node in walk(scope.body) if isinstance(node, ast.Assign) for t in node.targets for n in target_names(t)}:
                scope = self.a.tree  # a global flag
        bound = []
        for node in walk(scope.body if isinstance(scope, ast.Module) else scope.body):
            if isinstance(node, ast.Assign) and any(name.id in target_names(t) for t in node.targets):
                bound.append(node.value)
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For, ast.NamedExpr, ast.withitem)) and name.id in target_names(getattr(node, "target", None) or getattr(node, "optional_vars", None) or ast.Pass()):
                return False
            elif isinstance(node, (ast.Global, ast.Nonlocal)) and name.id in node.names:
                return False
        return bool(bound) and all(isinstance(v, ast.Constant) and v.value is False for v in bound)

    def _disabling_decorator(self, function: Function) -> ast.expr | None:
        return next((d for d in function.decorator_list if grad_disabling(d, self.a.imports)), None)

    def _grad_disabling_callee(self, call: ast.Call) -> tuple[Function | None, _Region | None]:
        """A function or method of this file that ``call`` runs and that returns without a graph because of no_grad."""
        function = self.a.callee(call)
        if function is None:
            return None, None
        # What depends on the function alone, once per function (it is called from many places).
        known = self._callees.get(id(function))
        if known is None:
            known = self._callees[id(function)] = (self._bears_parameters(function.body), self._disabling_decorator(function))
        bears, decorator = known
        if not bears:
            return None, None
        if decorator is not None:
            return function, _Region("decorator", function, decorator, decorator)
        if self.a.value(call).graph is not Graph.NO:
            return None, None
        if id(function) not in self._return_regions:
            self._return_regions[id(function)] = None  # (a recursive function: no region while it is studied)
            self._return_regions[id(function)] = self._return_region(function)
        region = self._return_regions[id(function)]
        return (function, region) if region is not None else (None, None)

    def _return_region(self, function: Function) -> _Region | None:
        """The no-grad region ``function``'s result comes from: a ``return`` inside one, or the
        region that computes what a ``return`` reads (``h = self.encoder(x)`` under no_grad,
        then ``return h * 2``), when nothing else brings the function a graph."""
        returns = [n for n in walk(function.body) if isinstance(n, ast.Return)]
        for node in returns:
            region = self.region(node)
            if region is not None:
                return region
        for node in returns:
            if node.value is not None:
                step = self.step(node.value, depth=1)
                if step is not None and step.producers and not step.has_other_source and not step.inference:
                    return step.producers[0].region
        return None


    # Where parameters enter ------------------------------------------------------------------
    def _bears_parameters(self, expr: ast.AST) -> bool:
        """``expr`` runs a model (a module with parameters, a function of this file, a model passed in) or reads a parameter."""
        for node in _own_nodes(expr, (ast.Call, ast.Name, ast.Attribute)):
            if isinstance(node, ast.Call):
                if self._runs_parameters(node, strict=True):
                    return True
            elif isinstance(node.ctx, ast.Load) and self.a.value(node).leaf and not self._metadata_read(node):
                return True
        return False

    def _metadata_read(self, node: ast.AST) -> bool:
        """``w.grad``, ``w.shape``, ``w.device``: what is read is not the parameter's value."""
        parent = self.a.parent(node)
        return isinstance(parent, ast.Attribute) and parent.value is node and parent.attr in _NOT_THE_VALUE

    def _source(self, expr: ast.AST, defined: set[str], exclude=()) -> bool:
        """``expr`` (outside a no-grad region) may bring a graph from the parameters into the loss:
        it runs a model, or reads a parameter, or a graph-carrying value from outside the loss path
        (names the loss path defines are judged where they are defined)."""
        skipped = {id(n) for call in exclude for n in walk(call)}
        for node in _own_nodes(expr, (ast.Call, ast.Name, ast.Attribute)):
            if id(node) in skipped:
                continue
            value = self.a.value(node)
            if isinstance(node, ast.Call):
                if value.graph is not Graph.NO and self._runs_parameters(node, strict=False):
                    return True
            elif isinstance(node.ctx, ast.Load) and (value.leaf or (value.carries and dotted(node) not in defined)):
                return True
        return False

    def _runs_parameters(self, call: ast.Call, strict: bool) -> bool:
        func = self.a.value(call.func)
        if func.kind is Kind.MODULE:
            if self.a.module_class(func.name) is not None:
                return True  # a module of this file
            return func.name not in _torch.PARAMETER_FREE_MODULES and not (func.name or "").endswith("Loss")
        if func.kind is Kind.FUNCTION:
            function = self.a.callee(call)
            if function is None:
                return True
            returned = self.a.returns(function)
            return returned.graph is not Graph.NO or self._disabling_decorator(function) is not None
        if func.kind in (Kind.CLASS, Kind.IMPORTED, Kind.OPTIMIZER, Kind.DISTRIBUTION):
            return False
        if isinstance(call.func, ast.Attribute):
            receiver = self.a.value(call.func.value)
            if receiver.kind is Kind.MODULE:
                return call.func.attr not in ("parameters", "named_parameters", "state_dict", "train", "eval", "to", "cuda", "cpu")
            if receiver.kind is not Kind.UNKNOWN or call.func.attr in _TENSOR_METHOD_NAMES:
                return False
            # An unknown object's method: `self.model.encode(x)` may run a model; `batch.to(dev)` does not.
            if dotted(call.func) is not None and _LOSS_FUNCTION.search(call.func.attr):
                return False  # `self.criterion(out, y)`, `losses.dice_loss(p, t)`
            return not strict or _is_local_object(call.func.value)
        if isinstance(call.func, ast.Name):
            # A model passed in or bound to a name (`model(x)`): unknown, may have parameters;
            # a loss function passed in (`criterion(out, y)`) has none.
            name = call.func.id
            if name in _BUILTINS and name not in self.a.functions and name not in self.a.classes:
                return False
            return bool(call.args or call.keywords) and self.a.qualify(call.func) is None and not _LOSS_FUNCTION.search(name)
        return not strict


# What a training loop calls its loss function: it brings no parameters of its own.
_LOSS_FUNCTION = re.compile(r"^(criterion|crit|loss_fn|loss_func|lossfn|loss|.*_loss|.*_criterion)$", re.I)
_NOT_THE_VALUE = {"grad", "shape", "dtype", "device", "size", "requires_grad", "is_leaf", "ndim", "numel", "dim"}
_BUILTINS = set(dir(builtins))
_OBJECTS = {Kind.MODULE, Kind.OPTIMIZER, Kind.FUNCTION, Kind.CLASS, Kind.INSTANCE, Kind.IMPORTED, Kind.DISTRIBUTION}
_TENSOR_METHOD_NAMES = {
    "to", "cuda", "cpu", "float", "double", "half", "long", "int", "bool", "view", "reshape", "permute",
    "transpose", "unsqueeze", "squeeze", "flatten", "contiguous", "clone", "detach", "item", "tolist",
    "numpy", "size", "sum", "mean", "max", "min", "abs", "pow", "exp", "log", "sqrt", "softmax",
    "log_softmax", "argmax", "gather", "index_select", "masked_fill", "clamp", "expand", "repeat",
    "type", "type_as", "chunk", "split", "get", "items", "keys", "values", "format", "append",
}


def _is_local_object(expr: ast.AST) -> bool:
    """``self.model``, ``model``: a name or a ``self`` attribute, not a subscript or call result."""
    name = dotted(expr)
    return name is not None


def _names_by_id(analysis: Analysis) -> dict[str, list[ast.Name]]:
    """Every Name node of the file by its identifier, in ``analysis.nodes`` order (one table
    per file instead of a scan of every name per function)."""
    table = analysis.memo.get("GF111 names by id")
    if table is None:
        table = analysis.memo["GF111 names by id"] = {}
        for node in analysis.nodes(ast.Name):
            table.setdefault(node.id, []).append(node)
    return table  # type: ignore[return-value]


def _same(read: str, written: str) -> bool:
    """Whether writing ``written`` changes what reading ``read`` gives."""
    if read == written or read.startswith(written + "."):
        return True
    return written.startswith(read + ".") and read != "self"


def _reads(node: ast.AST | list) -> set[str]:
    """The dotted names of values ``node`` reads, longest first: ``self.fc.weight``, not also
    ``self.fc`` and ``self``; for a tensor method call ``x.float()`` the receiver ``x``; not
    what is called."""
    found: set[str] = set()
    methods: set[int] = set()  # `x.float` of `x.float()`: not a name, its receiver is
    inner: set[int] = set()  # `self.fc` of `self.fc.weight`
    Call, Attribute, Name, Load = ast.Call, ast.Attribute, ast.Name, ast.Load
    for current in walk(node):
        kind = type(current)
        if kind is Call:
            if dotted(current.func) is not None:
                if type(current.func) is Attribute and current.func.attr in _TENSOR_METHOD_NAMES:
                    methods.add(id(current.func))
                else:
                    # `model(x)`, `self.encoder(x)`, `model.encode(x)`: the called object is no value
                    # of the loss; its parameters are judged at the call.
                    inner.add(id(current.func))
        elif kind is Attribute:
            if id(current) in inner:
                inner.add(id(current.value))
            elif id(current) not in methods and type(current.ctx) is Load:
                name = dotted(current)
                if name is not None:
                    found.add(name)
                    inner.add(id(current.value))
        elif kind is Name and id(current) not in inner and type(current.ctx) is Load:
            found.add(current.id)
    return found


def _unit(stmt: ast.stmt) -> _Unit | None:
    if isinstance(stmt, ast.Assign):
        writes: set[str] = set()
        plain = True
        reads = _reads(stmt.value)
        for target in stmt.targets:
            writes |= target_names(target)
            if type(target) is ast.Name:
                continue  # most targets: nothing to look into
            if any(isinstance(t, (ast.Subscript, ast.Starred)) for t in ast.walk(target)):
                plain = False
                reads |= {n for t in ast.walk(target) if isinstance(t, ast.Subscript) for n in _reads(t.slice)}
        return _Unit(stmt, writes, reads, plain)
    if isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
        return _Unit(stmt, target_names(stmt.target), _reads(stmt.value), isinstance(stmt.target, ast.Name))
    if isinstance(stmt, ast.AugAssign):
        names = target_names(stmt.target)
        return _Unit(stmt, names, _reads(stmt.value) | names, False)
    if isinstance(stmt, (ast.For, ast.AsyncFor)):
        return _Unit(stmt, target_names(stmt.target), _reads(stmt.iter), True)
    if isinstance(stmt, (ast.With, ast.AsyncWith)):
        writes = set().union(*(target_names(i.optional_vars) for i in stmt.items if i.optional_vars is not None))
        return _Unit(stmt, writes, _reads([i.context_expr for i in stmt.items]), True) if writes else None
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) and isinstance(stmt.value.func, ast.Attribute):
        method = stmt.value.func.attr
        receiver = dotted(stmt.value.func.value)
        if receiver is not None and (method in ("append", "extend", "insert", "update") or (method.endswith("_") and not method.startswith("_"))):
            return _Unit(stmt, {receiver}, _reads(stmt.value.args) | {receiver}, False)
    return None


def _value_of(stmt: ast.stmt) -> ast.AST | None:
    if isinstance(stmt, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
        return stmt.value
    if isinstance(stmt, (ast.For, ast.AsyncFor)):
        return stmt.iter
    if isinstance(stmt, ast.Expr):
        return stmt.value
    return None


def _own_nodes(expr: ast.AST | list, types):
    return [n for n in walk(expr) if isinstance(n, types)]


# Fixes ---------------------------------------------------------------------------------------
def _dedent(ctx, block: ast.With, grad_item: ast.withitem | None = None) -> Fix | None:
    node = ctx.node_for(block)
    if not isinstance(node, cst.With) or not isinstance(node.body, cst.IndentedBlock):
        return None
    if len(node.items) > 1:  # `with torch.no_grad(), torch.autocast("cpu"):` keeps autocast
        items = [item for item, source in zip(node.items, block.items) if source is not grad_item]
        items[-1] = items[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return Fix([(node, node.with_changes(items=items))], Applicability.SAFE, "compute the block with grad enabled")
    body = list(node.body.body)
    if not body:
        return None
    first = body[0]
    leading = [*node.leading_lines, *getattr(first, "leading_lines", ())]
    body[0] = first.with_changes(leading_lines=leading)
    return Fix([(node, cst.FlattenSentinel(body))], Applicability.SAFE, "compute the block with grad enabled")


def _to_no_grad(ctx, call: ast.Call) -> Fix | None:
    node = ctx.node_for(call)
    if not isinstance(node, cst.Call) or not isinstance(node.func, cst.Attribute):
        return None
    return Fix([(node.func, node.func.with_changes(attr=cst.Name("no_grad")))], Applicability.SAFE, "use `torch.no_grad()`")


def _called(expr: ast.AST) -> ast.AST:
    return expr.func if isinstance(expr, ast.Call) else expr


def _drop_decorator(ctx, function: Function, decorator: ast.expr) -> Fix | None:
    node = ctx.node_for(function)
    if not isinstance(node, cst.FunctionDef):
        return None
    target = ctx.node_for(decorator)
    kept = [d for d in node.decorators if d.decorator is not target]
    if len(kept) == len(node.decorators):
        return None
    removed = next(d for d in node.decorators if d.decorator is target)
    changes: dict = {"decorators": kept}
    if node.decorators[0] is removed and removed.leading_lines:
        if kept:
            kept[0] = kept[0].with_changes(leading_lines=[*removed.leading_lines, *kept[0].leading_lines])
        else:
            changes["leading_lines"] = [*node.leading_lines, *removed.leading_lines]
    return Fix([(node, node.with_changes(**changes))], Applicability.SAFE, "remove the no-grad decorator")
