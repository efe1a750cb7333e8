"""Call sites: what the callers of a function pass it.

A method like ``update_parameters(self, ws)`` cannot tell by itself whether ``ws`` carries
a graph; its callers in the same file can.
"""

from __future__ import annotations

import libcst as cst

from gradfix.context import FileContext

from ._graph import Carry, flow_for
from ._scopes import argument_for, call_sites, enclosing_class, enclosing_function


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
