"""Where a node sits: its function and class, grad-disabled regions, init code, and what
an ``nn.Module`` class declares (Parameters, buffers, submodules)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import libcst as cst

from gradfix.context import FileContext

from ._names import dotted_name, imports, is_false

GRAD_DISABLING = {"torch.no_grad", "torch.inference_mode"}
# Functions whose job is to set values, where `.data` writes and fills are the norm.
_INIT_NAME = re.compile(
    r"(^__init__$|^__post_init__$|init|^reset|^load|^setup$|^build$|^_?fill|copy_weights|from_pretrained"
    r"|^_?(fuse|convert|export)|switch_to_deploy|^_?reparameterize$)",
    re.I,
)


def enclosing_function(ctx: FileContext, node: cst.CSTNode) -> cst.FunctionDef | None:
    for ancestor in ctx.ancestors(node):
        if isinstance(ancestor, cst.FunctionDef):
            return ancestor
    return None


def is_function_parameter(ctx: FileContext, at: cst.CSTNode, expr: cst.BaseExpression) -> bool:
    """Whether ``expr`` is a bare parameter name of the function around ``at``.

    The graph flow counts a ``forward`` input as graph-carrying; rules that need to know a
    value is a tensor that requires grad (not just may be one) ask this first.
    """
    function = enclosing_function(ctx, at)
    if function is None or not isinstance(expr, cst.Name):
        return False
    params = (*function.params.posonly_params, *function.params.params, *function.params.kwonly_params)
    return any(p.name.value == expr.value for p in params)


def enclosing_class(ctx: FileContext, node: cst.CSTNode) -> cst.ClassDef | None:
    """The class whose method (directly) contains ``node``."""
    for ancestor in ctx.ancestors(node):
        if isinstance(ancestor, cst.ClassDef):
            return ancestor
    return None


def enclosing_statement(ctx: FileContext, node: cst.CSTNode) -> cst.CSTNode | None:
    """The simple statement (or compound statement header) holding ``node``."""
    current: cst.CSTNode | None = node
    while current is not None and not isinstance(current, (cst.BaseSmallStatement, cst.BaseCompoundStatement)):
        current = ctx.parent(current)
    return current


def is_grad_disabling_call(ctx: FileContext, expr: cst.BaseExpression) -> bool:
    """``torch.no_grad()``, ``torch.inference_mode()``, ``torch.set_grad_enabled(False)``."""
    names = imports(ctx)
    func = expr.func if isinstance(expr, cst.Call) else expr
    qualified = names.qualify(func)
    if qualified in GRAD_DISABLING:
        if qualified == "torch.inference_mode" and isinstance(expr, cst.Call) and expr.args:
            return not is_false(expr.args[0].value)
        return True
    if qualified == "torch.set_grad_enabled" and isinstance(expr, cst.Call) and expr.args:
        return is_false(expr.args[0].value)
    return False


def in_grad_disabled(ctx: FileContext, node: cst.CSTNode) -> bool:
    """Inside ``with torch.no_grad():`` (or alike), or a function decorated with it."""
    for ancestor in ctx.ancestors(node):
        if isinstance(ancestor, cst.With) and any(is_grad_disabling_call(ctx, item.item) for item in ancestor.items):
            return True
        if isinstance(ancestor, cst.FunctionDef) and any(
            is_grad_disabling_call(ctx, d.decorator) for d in ancestor.decorators
        ):
            return True
    return False


def in_init_code(ctx: FileContext, node: cst.CSTNode) -> bool:
    """Inside ``__init__``, ``reset_parameters``, an ``init_weights``-style helper, a loader."""
    return any(
        isinstance(a, cst.FunctionDef) and _INIT_NAME.search(a.name.value) for a in ctx.ancestors(node)
    )


# Module classes ---------------------------------------------------------------------------
@dataclass
class ClassFacts:
    node: cst.ClassDef
    is_module: bool
    # attribute -> the statement declaring it and the tensor expression it is built from
    parameters: dict[str, "Declaration"] = field(default_factory=dict)
    buffers: dict[str, "Declaration"] = field(default_factory=dict)
    submodules: set[str] = field(default_factory=set)
    # other `self.x = value` assignments made in __init__: attribute -> value
    attributes: dict[str, cst.BaseExpression] = field(default_factory=dict)

    def method(self, name: str) -> cst.FunctionDef | None:
        for stmt in self.node.body.body:
            if isinstance(stmt, cst.FunctionDef) and stmt.name.value == name:
                return stmt
        return None


@dataclass
class Declaration:
    statement: cst.SimpleStatementLine  # the line holding the declaration
    small: cst.BaseSmallStatement  # the Assign / Expr within it
    init: cst.BaseExpression | None  # the tensor the Parameter/buffer wraps


def _self_attr(expr: cst.BaseExpression) -> str | None:
    dotted = dotted_name(expr)
    if dotted and dotted.startswith("self.") and dotted.count(".") == 1:
        return dotted[5:]
    return None


def _string_value(expr: cst.BaseExpression) -> str | None:
    if isinstance(expr, cst.SimpleString):
        value = expr.evaluated_value
        return value if isinstance(value, str) else None
    return None


def is_module_constructor(ctx: FileContext, call: cst.Call, local_modules: set[str]) -> bool:
    """``nn.Linear(...)``, ``nn.Sequential(...)``, or a Module class defined in this file."""
    qualified = imports(ctx).qualify(call.func)
    if qualified and qualified.startswith("torch.nn."):
        last = qualified.rsplit(".", 1)[-1]
        return last[:1].isupper() and last not in _NOT_MODULES
    return isinstance(call.func, cst.Name) and call.func.value in local_modules


_NOT_MODULES = {"Parameter", "Buffer", "UninitializedParameter", "UninitializedBuffer"}


def _collect_classes(ctx: FileContext) -> dict[int, ClassFacts]:
    names = imports(ctx)
    classes = [n for n in ctx.walk() if isinstance(n, cst.ClassDef)]
    # Which classes are nn.Modules: bases naming torch.nn.Module or a module class of this file.
    module_names: set[str] = set()
    changed = True
    while changed:
        changed = False
        for cls in classes:
            if cls.name.value in module_names:
                continue
            for base in cls.bases:
                q = names.qualify(base.value)
                dotted = dotted_name(base.value)
                last = (q or "").rsplit(".", 1)[-1]
                if (q and q.startswith("torch.nn.") and last[:1].isupper() and last not in _NOT_MODULES) or dotted in module_names:
                    module_names.add(cls.name.value)
                    changed = True
                    break
    facts: dict[int, ClassFacts] = {}
    for cls in classes:
        info = ClassFacts(node=cls, is_module=cls.name.value in module_names)
        for stmt in ctx.walk(cls.body):
            if isinstance(stmt, cst.ClassDef):
                continue
            if not isinstance(stmt, cst.SimpleStatementLine):
                continue
            for small in stmt.body:
                _record_declaration(ctx, info, stmt, small, module_names)
        init = info.method("__init__")
        for stmt in init.body.body if init is not None and isinstance(init.body, cst.IndentedBlock) else ():
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, cst.Assign) and len(small.targets) == 1:
                        attr = _self_attr(small.targets[0].target)
                        if attr and attr not in info.parameters and attr not in info.submodules:
                            info.attributes[attr] = small.value
        facts[id(cls)] = info
    return facts


def _record_declaration(ctx, info: ClassFacts, line, small, module_names) -> None:
    names = imports(ctx)
    if isinstance(small, cst.Assign) and len(small.targets) == 1:
        attr = _self_attr(small.targets[0].target)
        value = small.value
        if attr is None or not isinstance(value, cst.Call):
            return
        if names.qualify(value.func) == "torch.nn.Parameter":
            init = value.args[0].value if value.args and value.args[0].keyword is None else None
            info.parameters.setdefault(attr, Declaration(line, small, init))
        elif is_module_constructor(ctx, value, module_names):
            info.submodules.add(attr)
    elif isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
        call = small.value
        func = dotted_name(call.func)
        if func not in ("self.register_parameter", "self.register_buffer") or len(call.args) < 2:
            return
        attr = _string_value(call.args[0].value)
        if attr is None:
            return
        value = call.args[1].value
        if func == "self.register_buffer":
            info.buffers.setdefault(attr, Declaration(line, small, value))
        elif isinstance(value, cst.Call) and names.qualify(value.func) == "torch.nn.Parameter":
            init = value.args[0].value if value.args else None
            info.parameters.setdefault(attr, Declaration(line, small, init))




def class_facts(ctx: FileContext, cls: cst.ClassDef) -> ClassFacts:
    return ctx.cached("class_facts", lambda: _collect_classes(ctx))[id(cls)]


def all_class_facts(ctx: FileContext) -> list[ClassFacts]:
    return list(ctx.cached("class_facts", lambda: _collect_classes(ctx)).values())


def module_class_names(ctx: FileContext) -> set[str]:
    return {f.node.name.value for f in all_class_facts(ctx) if f.is_module}


def call_sites(ctx: FileContext, function: cst.FunctionDef) -> list[cst.Call]:
    """Calls in this file that name ``function`` (``f(...)`` or ``obj.f(...)``)."""
    name = function.name.value

    def collect() -> dict[str, list[cst.Call]]:
        by_name: dict[str, list[cst.Call]] = {}
        for node in ctx.walk():
            if isinstance(node, cst.Call):
                func = node.func
                called = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else None
                if called is not None:
                    by_name.setdefault(called, []).append(node)
        return by_name

    return ctx.cached("call_sites", collect).get(name, [])


def argument_for(call: cst.Call, function: cst.FunctionDef, parameter: str, is_method: bool) -> cst.BaseExpression | None:
    params = [p.name.value for p in (*function.params.posonly_params, *function.params.params)]
    if is_method and params:
        params = params[1:]
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == parameter:
            return arg.value
    positional = [a for a in call.args if a.keyword is None and a.star == ""]
    if parameter in params and params.index(parameter) < len(positional):
        return positional[params.index(parameter)].value
    return None
