"""Call sites: what the callers of a function pass it.

A method like ``update_parameters(self, ws)`` cannot tell by itself whether ``ws`` carries
a graph; its callers in the same file can.
"""

from __future__ import annotations

import libcst as cst

from gradfix.context import FileContext

from ._graph import Carry, flow_for
from ._scopes import enclosing_class, enclosing_function


def _names_in(expr: cst.CSTNode) -> set[str]:
    found: set[str] = set()
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Name):
            found.add(node.value)
        elif isinstance(node, cst.Attribute):
            stack.append(node.value)  # `ws.to(...)`: the base name, not the attribute
            continue
        stack.extend(node.children)
    return found


def call_sites(ctx: FileContext, function: cst.FunctionDef) -> list[cst.Call]:
    """Calls in this file that name ``function`` (``f(...)`` or ``obj.f(...)``)."""
    name = function.name.value

    def collect() -> dict[str, list[cst.Call]]:
        by_name: dict[str, list[cst.Call]] = {}
        stack: list[cst.CSTNode] = [ctx.module]
        while stack:
            node = stack.pop()
            if isinstance(node, cst.Call):
                func = node.func
                called = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else None
                if called is not None:
                    by_name.setdefault(called, []).append(node)
            stack.extend(node.children)
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


def argument_carries_at_call_sites(ctx: FileContext, node: cst.CSTNode, value: cst.BaseExpression) -> bool:
    """Whether a caller passes a graph-carrying value for a parameter that ``value`` reads."""
    function = enclosing_function(ctx, node)
    if function is None:
        return False
    is_method = enclosing_class(ctx, function) is not None
    parameters = {p.name.value for p in (*function.params.posonly_params, *function.params.params, *function.params.kwonly_params)}
    read = (_names_in(value) & parameters) - {"self", "cls"}
    for call in call_sites(ctx, function):
        flow = flow_for(ctx, call)
        if read and any(a.star == "*" and flow.carries(a.value, call) is Carry.YES for a in call.args):
            return True  # `f(*outputs)`: the unpacked outputs fill the parameters
        for parameter in read:
            argument = argument_for(call, function, parameter, is_method)
            if argument is not None and flow.carries(argument, call) is Carry.YES:
                return True
    return False
