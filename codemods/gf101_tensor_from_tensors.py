"""GF101 tensor-from-tensors."""

from __future__ import annotations

import ast
import re

import libcst as cst

from gradfix.rule import Applicability, Fix, Rule

from ._ast import calls
from ._graph import Carry, flow_for
from ._names import dotted_name, imports, keyword, kwarg, torch_module
from ._scopes import in_grad_disabled, is_function_parameter
from ._shapes import shapes

# Constructors that copy their data out of the graph, and the dtype their result has.
_CONSTRUCTORS = {
    "torch.tensor": None,
    "torch.as_tensor": None,
    "torch.Tensor": "float",
    "torch.FloatTensor": "float",
    "torch.DoubleTensor": "double",
    "torch.HalfTensor": "half",
    "torch.BFloat16Tensor": "bfloat16",
    "torch.cuda.FloatTensor": "float",
    "torch.cuda.DoubleTensor": "double",
    "torch.cuda.HalfTensor": "half",
}


_SHORT_NAMES = {name.rsplit(".", 1)[-1] for name in _CONSTRUCTORS}


def _all_literal(node: ast.AST) -> bool:
    if isinstance(node, (ast.List, ast.Tuple)):
        return all(_all_literal(e) for e in node.elts)
    if isinstance(node, ast.UnaryOp):
        return _all_literal(node.operand)
    return isinstance(node, ast.Constant)


class TensorFromTensors(Rule):
    """
    `torch.tensor([...])` of tensors that carry a graph cuts the graph.

    `torch.tensor`, `torch.as_tensor` (of a list), the legacy `torch.Tensor` /
    `torch.FloatTensor` constructors and `x.new_tensor` read the *values* of their
    elements and build a new leaf tensor. Every element that came from a Parameter loses
    its gradient: `backward()` then raises "element 0 of tensors does not require grad and
    does not have a grad_fn", or, when another path reaches the loss, the Parameters behind
    the elements silently get no gradient.

    The fix builds the same tensor with `torch.stack` (nested lists become nested stacks),
    which keeps the graph and gives bitwise-equal values. When the elements' shapes are not
    visible in the code, `.reshape(n)` keeps the result's shape exactly as `torch.tensor`
    gave it (it accepts one-element tensors of any shape). Python numbers among the
    elements become `torch.as_tensor(x, dtype=<element>.dtype)`; `dtype=`/`device=` turn
    into a `.to(...)`. The fix never uses zeros-and-fill (it downcasts float64).

    Bad:

        a = nn.Parameter(torch.rand(5))
        A = torch.tensor([a[0] * 2, torch.log(a[1] + 1), a[2] ** 2])
        A.sum().backward()   # RuntimeError: element 0 of tensors does not require grad

    Good:

        a = nn.Parameter(torch.rand(5))
        A = torch.stack([a[0] * 2, torch.log(a[1] + 1), a[2] ** 2])
        A.sum().backward()   # a.grad is set

    Fix safety: safe for lists of tensors; unsafe for `torch.tensor(t)` of one tensor,
    where a detached copy may have been intended (`t.detach().clone()` then says so).
    """

    code = "GF101"
    name = "tensor-from-tensors"
    summary = "`torch.tensor([...])` of graph-carrying tensors cuts the graph; use `torch.stack`"
    trigger = re.compile(r"(?:tensor|Tensor)\s*\(")

    @staticmethod
    def quick_check(tree: ast.Module) -> bool:
        """A constructor call whose data is not made of literals only."""
        for node, name in calls(tree):
            if name != "new_tensor" and name not in _SHORT_NAMES:
                continue
            data = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "data"), None)
            if data is not None and not _all_literal(data):
                return True
        return False

    def check(self, ctx):
        names = imports(ctx)
        if not names.imports_module("torch"):
            return
        for call in (node for node in ctx.walk() if isinstance(node, cst.Call)):
            qualified = names.qualify(call.func)
            is_new_tensor = (
                qualified is None
                and isinstance(call.func, cst.Attribute)
                and call.func.attr.value == "new_tensor"
            )
            if qualified not in _CONSTRUCTORS and not is_new_tensor:
                continue
            data = _data_argument(call)
            if data is None or in_grad_disabled(ctx, call) or _integer_dtype(call):
                continue
            flow = flow_for(ctx, call)
            if isinstance(data, (cst.List, cst.Tuple)):
                leaves = list(_leaves(data))
                if not leaves:
                    continue
                carries = [flow.carries(leaf, call) for leaf in leaves]
                if Carry.YES not in carries:
                    continue
                fix = None
                if Carry.UNKNOWN not in carries and Carry.MODULE not in carries and keyword(call, "requires_grad") is None:
                    fix = self._stack_fix(ctx, call, data, leaves, carries, qualified, is_new_tensor)
                what = "`" + (dotted_name(call.func) or "tensor") + "`"
                yield self.finding(
                    call,
                    f"{what} copies the values of tensors that carry a graph and cuts their gradients; use `torch.stack`",
                    fix,
                )
            elif (
                qualified in ("torch.tensor", "torch.Tensor")
                and not isinstance(data, (cst.ListComp, cst.GeneratorExp, cst.SetComp, cst.DictComp))
                and not is_function_parameter(ctx, call, data)
                and flow.carries(data, call) is Carry.YES
            ):
                if not isinstance(data, (cst.Name, cst.Attribute, cst.Subscript, cst.Call)):
                    data = data.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
                replacement = cst.Call(func=cst.Attribute(value=data, attr=cst.Name("clone")))
                fix = Fix([(call, replacement)], Applicability.UNSAFE, "copy with `.clone()`, which keeps the graph")
                if keyword(call, "dtype") or keyword(call, "device") or keyword(call, "requires_grad"):
                    fix = None
                yield self.finding(
                    call,
                    f"`{dotted_name(call.func)}(t)` of a tensor that carries a graph returns a detached copy; "
                    "use `t.clone()` (or `t.detach().clone()` if the cut is intended)",
                    fix,
                )

    def _stack_fix(self, ctx, call, data, leaves, carries, qualified, is_new_tensor) -> Fix:
        torch_name, import_edits = torch_module(ctx)
        reference = next(leaf for leaf, carry in zip(leaves, carries) if carry is Carry.YES)
        known = shapes(ctx)
        all_scalars = all(known.shape(leaf, call) == [] for leaf in leaves if not _is_number(leaf))

        def build(node: cst.BaseExpression) -> cst.BaseExpression:
            if isinstance(node, (cst.List, cst.Tuple)):
                items = [cst.Element(build(e.value)) for e in node.elements]
                return _call(torch_name, "stack", [cst.Arg(cst.List(items))])
            if _is_number(node):
                return _call(
                    torch_name,
                    "as_tensor",
                    [cst.Arg(node), kwarg("dtype", cst.Attribute(reference, cst.Name("dtype")))],
                )
            return node

        result = build(data)
        if not all_scalars:
            sizes = _nesting_shape(data)
            result = cst.Call(
                func=cst.Attribute(result, cst.Name("reshape")),
                args=[cst.Arg(cst.Integer(str(n))) for n in sizes],
            )
        conversion: list[cst.Arg] = []
        for name in ("device", "dtype"):
            arg = keyword(call, name)
            if arg is not None:
                conversion.append(kwarg(name, arg.value))
        legacy = _CONSTRUCTORS.get(qualified or "")
        if is_new_tensor and not conversion:
            conversion.append(cst.Arg(call.func.value))  # type: ignore[union-attr]
        if conversion:
            result = cst.Call(func=cst.Attribute(result, cst.Name("to")), args=conversion)
        elif legacy is not None:
            result = cst.Call(func=cst.Attribute(result, cst.Name(legacy)))
        return Fix([(call, result), *import_edits], Applicability.SAFE, "build the tensor with `torch.stack`")




def _data_argument(call: cst.Call) -> cst.BaseExpression | None:
    data = keyword(call, "data")
    if data is not None:
        return data.value
    if call.args and call.args[0].keyword is None and call.args[0].star == "":
        return call.args[0].value
    return None


def _leaves(node: cst.BaseExpression):
    """The non-list elements of a (nested) list literal; nothing when one is starred."""
    if _has_starred(node):
        return
    for element in node.elements:  # type: ignore[attr-defined]
        if isinstance(element.value, (cst.List, cst.Tuple)):
            yield from _leaves(element.value)
        else:
            yield element.value


_INTEGER_DTYPES = {"long", "int", "int64", "int32", "int16", "int8", "uint8", "bool", "short"}


def _integer_dtype(call: cst.Call) -> bool:
    """``dtype=torch.long`` and friends: an integer tensor never has a gradient to lose."""
    dtype = keyword(call, "dtype")
    name = dotted_name(dtype.value) if dtype is not None else None
    return name is not None and name.rsplit(".", 1)[-1] in _INTEGER_DTYPES


def _has_starred(node: cst.BaseExpression) -> bool:
    return any(
        isinstance(e, cst.StarredElement) or (isinstance(e.value, (cst.List, cst.Tuple)) and _has_starred(e.value))
        for e in node.elements  # type: ignore[attr-defined]
    )


def _is_number(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.UnaryOperation):
        node = node.expression
    return isinstance(node, (cst.Integer, cst.Float))


def _nesting_shape(node: cst.BaseExpression) -> list[int]:
    sizes = []
    while isinstance(node, (cst.List, cst.Tuple)) and node.elements:
        sizes.append(len(node.elements))
        node = node.elements[0].value
    return sizes


def _call(module: cst.BaseExpression, name: str, args: list[cst.Arg]) -> cst.Call:
    return cst.Call(func=cst.Attribute(module, cst.Name(name)), args=args)
