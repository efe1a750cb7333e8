"""GF103 inplace-self-write."""

from __future__ import annotations

import ast
import re
from functools import partial

import libcst as cst

from gradfix.rule import Applicability, Fix, LazyFix, Rule

from ._ast import imports_torch, nodes_of
from ._inplace import clone_write, parameter_names, reads, saves_a_view, self_write, why_not_rewritable
from ._names import torch_module
from ._quick_graph import GraphFlow
from ._quick_holders import scope_of, tensor_holders
from ._quick_leaves import grad_disabled, may_carry_graph, may_carry_graph_text
from ._values import Analysis, dotted, int_literal


class InplaceSelfWrite(Rule):
    """
    `x[k] = f(x)`: an in-place write into a tensor that its own value was computed from.

    Computing `x[0] / x[1]` saves the views `x[0]` and `x[1]` for the backward pass; writing
    the result into `x[2]` then modifies `x` in place, and `backward()` raises "one of the
    variables needed for gradient computation has been modified by an inplace operation".
    (Writes whose value only adds, subtracts or scales by constants, or goes through a
    function that saves only its result such as `exp`, are harmless and not reported.)

    The fix builds a new tensor instead of writing into the old one. When `x` is 1-D with a
    length the code states, it stacks the elements: `x = torch.stack([x[0], x[1], x[0] / x[1]])`.
    Otherwise it writes into a copy: `x_new = x.clone(); x_new[k] = f(x); x = x_new`, which
    keeps setitem's casting and broadcasting. Both are bitwise-equal in the forward pass. A
    naive `torch.cat` of slices is wrong for negative `k` and promotes dtypes: never used.

    The write is not rewritten when `x` has other names or views that would stop seeing
    the write (aliasing would change), or when `x` came from the caller.

    Bad:

        param = paramn * (p_max - p_min) + p_min
        param[2] = param[0] / param[1]
        param.sum().backward()     # RuntimeError: ... modified by an inplace operation

    Good:

        param = paramn * (p_max - p_min) + p_min
        param = torch.stack([param[0], param[1], param[0] / param[1]])
        param.sum().backward()

    Fix safety: safe; refused (reported only) when aliasing would change.
    """

    code = "GF103"
    name = "inplace-self-write"
    summary = "`x[k] = f(x)` modifies a tensor its own value was computed from; backward raises"
    # detect needs torch imported and an `x[k] = value` (an `]` then `=`, maybe across a
    # backslash or a parenthesis) whose value reads x: `text_check` finds x's name after `=`.
    requires = (("torch",),)
    trigger = re.compile(r"\][\s\\)]*=(?!=)")

    @staticmethod
    def text_check(source: str) -> bool:
        """Some ``...x[k] = ...`` whose statement names ``x`` again after the ``=``, in a file
        where a graph can start (``may_carry_graph_text``: the written tensor must carry one)."""
        if not may_carry_graph_text(source):
            return False
        return any(_names_base_again(source, match.start(), match.end()) for match in InplaceSelfWrite.trigger.finditer(source))

    @staticmethod
    def quick_check(tree: ast.Module) -> bool:
        """torch imported, a graph possible in the file (``may_carry_graph``: the written
        tensor must carry one), and some ``x[k] = <expression reading x that saves a view of
        it>`` (`self_write` with every other operand that is not a literal or a bare
        parameter, and that a graph may reach (``GraphFlow``), taken to require grad), not under
        ``no_grad``, where ``x`` may be a tensor (``tensor_holders``: not a name only ever bound
        to a list, dict, ... display) that carries a graph."""
        if not imports_torch(tree):
            return False
        candidates = []
        for assign in nodes_of(tree, ast.Assign):
            if len(assign.targets) == 1 and isinstance(assign.targets[0], ast.Subscript):
                if _string_key(assign.targets[0].slice):
                    continue  # `d["k"] = f(d["k"])`: a tensor is never indexed by a string
                base = dotted(assign.targets[0].value)
                if base is not None and reads(assign.value, base) and saves_a_view(assign.value, base, _maybe_requires_grad(tree, assign)):
                    candidates.append((assign, base))
        if not candidates or not may_carry_graph(tree):
            return False
        candidates = [(assign, base) for assign, base in candidates if not grad_disabled(tree, assign)]
        candidates = tensor_holders(tree, candidates)
        if not candidates:
            return False
        flow = GraphFlow.of(tree)  # the written tensor must carry a graph, and so must what makes it save a view
        for assign, base in candidates:
            if flow.may_carry(assign.targets[0].value):
                may_require_grad = _maybe_requires_grad(tree, assign)
                if saves_a_view(assign.value, base, lambda operand, may=may_require_grad: may(operand) and flow.may_carry(operand)):
                    return True
        return False

    def detect(self, analysis: Analysis):
        if not analysis.imports.imports_module("torch"):
            return
        for assign in analysis.nodes(ast.Assign):
            base = self_write(analysis, assign)
            if base is None:
                continue
            target = assign.targets[0]
            fix, reason = None, why_not_rewritable(analysis, assign, base)
            if reason is None:
                stacked = _stack_length(analysis, assign, target, base)
                how = f"rebuild `{base}` with `torch.stack`" if stacked else f"write into a copy of `{base}`"
                fix = LazyFix(partial(_fix, assign=assign, base=base, length=stacked), Applicability.SAFE, how)
            written = ast.get_source_segment(analysis.source, target) or base
            message = f"`{written} = ...` writes into `{base}` while its value was computed from `{base}`; backward will raise"
            message += f" (not rewritten: {reason})" if reason else "; build a new tensor instead"
            yield self.finding(assign, message, fix)


def _maybe_requires_grad(tree: ast.Module, assign: ast.Assign):
    """``self_write``'s ``requires_grad`` before the analysis: False only where it is False
    whatever the analysis says (a literal, which never carries a graph; a bare parameter of
    the enclosing function, which ``self_write`` does not count)."""
    parameters = None

    def requires_grad(operand: ast.expr) -> bool:
        nonlocal parameters
        literal = operand.operand if isinstance(operand, ast.UnaryOp) else operand
        if isinstance(literal, (ast.Constant, ast.JoinedStr)):
            return False
        if isinstance(operand, ast.Name):
            if parameters is None:
                function = scope_of(tree, assign)
                while function is not None and not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Module)):
                    function = scope_of(tree, function)
                parameters = parameter_names(function if not isinstance(function, ast.Module) else None)
            return operand.id not in parameters
        return True

    return requires_grad


def _string_key(index: ast.expr) -> bool:
    return isinstance(index, ast.JoinedStr) or (isinstance(index, ast.Constant) and isinstance(index.value, str))


_REACH = 20_000  # characters a subscript or a statement may span before the check gives up (True)


def _names_base_again(source: str, close: int, end: int) -> bool:
    """Whether the statement of the ``]`` at ``close`` (its ``=`` ends at ``end``) names the
    subscripted name after the ``=``. Lenient where the text is unclear: True."""
    depth, i, stop = 0, close, max(close - _REACH, -1)
    while i > stop:  # back to the matching `[`
        c = source[i]
        if c in ")]}":
            depth += 1
        elif c in "([{":
            depth -= 1
            if depth == 0:
                break
        i -= 1
    if i <= stop or source[i] != "[":
        return True
    j = i - 1
    while j >= 0 and source[j] in " \t\n\\)":
        j -= 1
    k = j
    while k >= 0 and (source[k].isalnum() or source[k] == "_"):
        k -= 1
    name = source[k + 1 : j + 1]
    if not name.isidentifier():
        return False  # `f(x)[k] = ...`, `x[i][j] = ...`: no name (or attribute) is subscripted
    if not _starts_statement(source, k):
        return False  # `f(a: List[int] = x)`, `y: Dict[str, T] = {}`: no subscript is stored into
    depth, m, stop = 0, end, min(end + _REACH, len(source))
    while m < stop:  # forward to the statement's end: a newline outside brackets
        c = source[m]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth = max(depth - 1, 0)
        elif c == "\n" and depth == 0 and source[m - 1] != "\\":
            break
        m += 1
    else:
        if m < len(source):
            return True  # a statement longer than this is no case to look at closely
    return _names_word(source[end:m], name)


def _is_word(c: str) -> bool:
    return c.isalnum() or c == "_"  # (what `re` takes as `\w` in a str pattern)


def _names_word(text: str, name: str) -> bool:
    r"""``re.search(rf"\b{re.escape(name)}\b", text)``, without compiling a pattern per name."""
    size, at = len(name), text.find(name)
    while at >= 0:
        end = at + size
        if (at > 0 and _is_word(text[at - 1])) != _is_word(text[at]) and (_is_word(text[end - 1]) != (end < len(text) and _is_word(text[end]))):
            return True
        at = text.find(name, at + 1)
    return False


_COMPOUND = {"if", "elif", "else", "for", "while", "with", "try", "except", "finally", "def", "class", "case", "async"}


def _starts_statement(source: str, k: int) -> bool:
    """Whether the dotted name ending before ``k + 1`` can start a statement: after a line's
    indentation (or a parenthesis), a `;`, or the `:` of a compound statement's header
    (not the `:` of an annotation, `x: List[int] = ...`)."""
    while k >= 0 and (source[k].isalnum() or source[k] in "_."):
        k -= 1
    while k >= 0 and source[k] in " \t(":
        k -= 1
    if k < 0 or source[k] in "\n;":
        return True
    if source[k] != ":":
        return False
    line = source[source.rfind("\n", 0, k) + 1 : k].strip()
    head = line.replace(".", "")
    return not (head.isidentifier() and line not in _COMPOUND)  # `x: T[...] = v` is an annotation


def _fix(ctx, assign: ast.Assign, base: str, length: int | None) -> Fix | None:
    node = ctx.node_for(assign)
    if node is None:
        return None
    target = node.targets[0].target
    if length is not None:
        return Fix(_stack_form(ctx, node, target, base, length), Applicability.SAFE, f"rebuild `{base}` with `torch.stack`")
    return clone_write(ctx, node, base)


def _stack_length(analysis: Analysis, assign: ast.Assign, target: ast.Subscript, base: str) -> int | None:
    """The length of ``x`` when ``x = torch.stack([x[0], ..., value, ...])`` can replace the
    write: x is 1-D of a length the code states, k a literal, and the value reads only x."""
    index = int_literal(target.slice)
    shape = analysis.value(target.value).shape
    if index is None or shape is None or len(shape) != 1 or shape[0] is None or not -shape[0] <= index < shape[0]:
        return None
    if not _onlyreads(assign.value, base):
        return None  # another tensor in the value could change the stacked dtype
    return shape[0]


def _onlyreads(expr: ast.AST, base: str) -> bool:
    """Whether the only names ``expr`` reads are ``base`` (numbers and torch functions aside)."""
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Call):
            stack.extend(node.args)
            if isinstance(node.func, ast.Attribute) and reads(node.func.value, base):
                stack.append(node.func.value)
            continue
        if isinstance(node, (ast.Name, ast.Attribute)):
            if dotted(node) != base:
                return False
            continue
        if isinstance(node, ast.Subscript):
            stack.append(node.value)
            continue
        stack.extend(ast.iter_child_nodes(node))
    return True


def _stack_form(ctx, assign: cst.Assign, target: cst.Subscript, base: str, length: int):
    index = int_literal(ast.parse(ctx.code(target.slice[0].slice.value), mode="eval").body) % length  # type: ignore[attr-defined]
    torch_name, import_edits = torch_module(ctx)
    elements = [
        cst.Element(assign.value if i == index else cst.Subscript(cst.Name(base), [cst.SubscriptElement(cst.Index(cst.Integer(str(i))))]))
        for i in range(length)
    ]
    value = cst.Call(func=cst.Attribute(torch_name, cst.Name("stack")), args=[cst.Arg(cst.List(elements))])
    replacement = assign.with_changes(targets=[assign.targets[0].with_changes(target=cst.Name(base))], value=value)
    return [(assign, replacement), *import_edits]
