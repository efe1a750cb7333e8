"""Cheap looks at CPython's ``ast`` tree, for the rules' ``quick_check`` (run before any
LibCST parse: an order of magnitude cheaper)."""

from __future__ import annotations

import ast


# Fields that never hold a node worth visiting: names, flags, and the expression contexts and
# operators (shared singletons: one `Load` for the whole file, so no parent and nothing to read).
_LEAF_FIELDS = frozenset({
    "ctx", "op", "ops", "id", "attr", "arg", "name", "kind", "type_comment", "level", "module",
    "is_async", "conversion", "simple",
})
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {ast.Constant: ()}


def child_fields(kind: type) -> tuple[str, ...]:
    """The fields of a node type that may hold child nodes (computed once per type)."""
    fields = _CHILD_FIELDS.get(kind)
    if fields is None:
        fields = _CHILD_FIELDS[kind] = tuple(f for f in kind._fields if f not in _LEAF_FIELDS)
    return fields


def child_nodes(node: ast.AST) -> list[ast.AST]:
    """``ast.iter_child_nodes(node)`` as a list, without contexts and operators (and without its
    generator, which costs more than this on the walks that call it for every node)."""
    children: list[ast.AST] = []
    AST = ast.AST
    for name in child_fields(type(node)):
        child = getattr(node, name, None)
        if type(child) is list:
            children.extend([item for item in child if isinstance(item, AST)])
        elif isinstance(child, AST):
            children.append(child)
    return children


def bound_names(tree: ast.Module, imports: bool = True) -> set[str]:
    """Every name the file binds: assigns, defines, takes as a parameter, and (``imports``)
    imports. Computed once per tree (kept on it)."""
    found = tree.__dict__.get("_gradfix_bound_names")
    if found is None:
        assigned = set(_names(tree)[1])
        assigned |= {n.arg for n in nodes_of(tree, ast.arg)}  # type: ignore[attr-defined]
        assigned |= {n.name for n in nodes_of(tree, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)}  # type: ignore[attr-defined]
        imported = {(a.asname or a.name).split(".")[0] for n in nodes_of(tree, ast.Import, ast.ImportFrom) for a in n.names}  # type: ignore[attr-defined]
        found = tree._gradfix_bound_names = (assigned | imported, assigned)  # type: ignore[attr-defined]
    return found[0] if imports else found[1]


def _names(tree: ast.Module) -> tuple[set[str], set[str]]:
    """(the names the file reads, the names it assigns or deletes), from one pass (kept on the tree)."""
    found = tree.__dict__.get("_gradfix_names")
    if found is None:
        table, Load = _names_by_id(tree), ast.Load
        loaded = {name for name, nodes in table.items() if any(type(n.ctx) is Load for n in nodes)}  # type: ignore[attr-defined]
        stored = {name for name, nodes in table.items() if any(type(n.ctx) is not Load for n in nodes)}  # type: ignore[attr-defined]
        found = tree._gradfix_names = (loaded, stored)  # type: ignore[attr-defined]
    return found


def loaded_names(tree: ast.Module) -> set[str]:
    """Every name the file reads (kept on the tree)."""
    return _names(tree)[0]


def is_named(tree: ast.Module, name: str) -> bool:
    """Whether the file reads ``name`` or names an attribute ``name`` (a function it may call)."""
    return name in _names(tree)[0] or bool(attributes_named(tree, name))


def called_name(call: ast.Call) -> str:
    """The last name of what ``call`` calls: ``tensor`` for ``torch.tensor(...)``, else ``""``."""
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


def walked(node: ast.AST) -> list[ast.AST]:
    """``list(ast.walk(node))`` without contexts and operators, in the same (breadth-first)
    order, written out: ``ast.walk``'s generators cost more than the walk itself."""
    queue = [node]
    for current in queue:  # the list grows as it is read
        queue.extend(child_nodes(current))
    return queue


def nodes_of(tree: ast.AST, *types: type) -> list[ast.AST]:
    """Every node of these types in ``tree``, in ``ast.walk`` order, from one index of the tree
    shared by every rule's ``quick_check`` and the value analysis (no walk per rule)."""
    from ._values import indexed

    by_type = indexed(tree)[1]
    if len(types) == 1:
        return by_type.get(types[0], [])
    return [node for t in types for node in by_type.get(t, [])]


def parents_of(tree: ast.AST) -> dict[int, ast.AST]:
    """Node id -> parent node, from the same shared index."""
    from ._values import indexed

    return indexed(tree)[0]


def calls(tree: ast.AST):
    """(call, called name) for every call in ``tree``."""
    for node in nodes_of(tree, ast.Call):
        yield node, called_name(node)


def calls_named(tree: ast.AST, names) -> list[ast.Call]:
    """The calls whose called name (:func:`called_name`) is ``names`` (or one of them), from one
    table of the file's calls by name (kept on the tree): a quick check that looks for a few
    names reads only their calls, not every call of the file. Grouped by name, in ``ast.walk``
    order within a name."""
    return _named(calls_by_name(tree), names)


def called_names(tree: ast.AST):
    """Every called name of the file (the keys of :func:`calls_by_name`)."""
    return calls_by_name(tree).keys()


def calls_by_name(tree: ast.AST) -> dict[str, list[ast.Call]]:
    """:func:`calls_named`'s table: called name -> the calls, ``""`` for a call of something
    else (``f()()``, ``fns[i]()``). Read it, do not change it."""
    return _table(tree, "_gradfix_calls_by_name", ast.Call, called_name)


def class_calls(tree: ast.AST, aliases: dict[str, str]) -> list[ast.Call]:
    """The calls that may build an instance of a class (an optimizer, a module): of a
    capitalized name, or of a name imported (``aliases``: local -> qualified) as one."""
    spelled = {name for name in called_names(tree) if name[:1].isupper()}
    spelled |= {local for local, qualified in aliases.items() if qualified.rsplit(".", 1)[-1][:1].isupper()}
    return calls_named(tree, spelled)


def attributes_named(tree: ast.AST, names) -> list[ast.Attribute]:
    """The ``x.name`` nodes (loads and stores) of ``names`` (or one of them), as :func:`calls_named`."""
    return _named(_table(tree, "_gradfix_attributes_by_name", ast.Attribute, lambda node: node.attr), names)


def names_named(tree: ast.AST, names) -> list[ast.Name]:
    """The ``Name`` nodes (any context) of ``names`` (or one of them), as :func:`calls_named`."""
    return _named(_names_by_id(tree), names)


def _names_by_id(tree: ast.AST) -> dict[str, list[ast.Name]]:
    return _table(tree, "_gradfix_names_by_id", ast.Name, lambda node: node.id)


def _named(table: dict, names) -> list:
    """The nodes of ``names`` (one name, or several) in a table by name."""
    if isinstance(names, str):
        return table.get(names, [])
    return [node for name in names if name in table for node in table[name]]


def _table(tree: ast.AST, key: str, kind: type, name_of) -> dict:
    """The nodes of ``kind`` by ``name_of``, in ``ast.walk`` order within a name (kept on the
    tree as ``key``)."""
    table = tree.__dict__.get(key)
    if table is None:
        table = {}
        for node in nodes_of(tree, kind):
            name = name_of(node)
            found = table.get(name)
            if found is None:
                table[name] = [node]
            else:
                found.append(node)
        setattr(tree, key, table)
    return table


_SCOPE_BOUNDARIES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
_AUTOGRAD_FUNCTIONS = ("grad", "backward")


def backward_calls_of(tree: ast.Module) -> list[ast.Call]:
    """The calls that may be backward calls (``_flow_ast.is_backward_call``): ``x.backward(...)``,
    ``<anything>.grad(...)`` (``torch.autograd.grad``, ``ag.grad``), and calls of a name imported
    as torch.autograd's ``grad`` or ``backward``; grouped by name. Computed once per tree."""
    found = tree.__dict__.get("_gradfix_backward_calls")
    if found is not None:
        return found
    imported: set[str] = set()  # local names of torch.autograd.grad / .backward
    for node in nodes_of(tree, ast.ImportFrom):
        if node.module == "torch.autograd" and not node.level:  # type: ignore[attr-defined]
            imported |= {a.asname or a.name for a in node.names if a.name in _AUTOGRAD_FUNCTIONS}  # type: ignore[attr-defined]
    for node in nodes_of(tree, ast.Import):
        imported |= {a.asname for a in node.names if a.asname and a.name in ("torch.autograd.grad", "torch.autograd.backward")}  # type: ignore[attr-defined]
    found = []
    Attribute, Name = ast.Attribute, ast.Name
    for call in calls_named(tree, (*_AUTOGRAD_FUNCTIONS, *imported)):  # (grouped by name)
        func = call.func  # type: ignore[attr-defined]
        kind = type(func)
        if kind is Attribute:
            if func.attr in _AUTOGRAD_FUNCTIONS:
                found.append(call)
        elif kind is Name and func.id in imported:
            found.append(call)
    tree._gradfix_backward_calls = found  # type: ignore[attr-defined]
    return found


def backward_loops(tree: ast.Module) -> list[tuple[ast.AST, ast.AST]]:
    """(loop, its parent) for every loop around a possible backward call in the call's own scope
    (what ``_flow_ast.backward_calls(analysis, loop)`` can find), innermost first per call."""
    parents = parents_of(tree)
    found: list[tuple[ast.AST, ast.AST]] = []
    for call in backward_calls_of(tree):
        node = parents.get(id(call))
        while node is not None and not isinstance(node, _SCOPE_BOUNDARIES):
            parent = parents.get(id(node))
            if isinstance(node, (ast.For, ast.AsyncFor, ast.While)) and parent is not None:
                found.append((node, parent))
            node = parent
    return found


def outside_unreachable(tree: ast.Module, node: ast.AST) -> bool:
    """Whether ``node`` may be on a loss path, as far as the file's names tell: not in a
    module-level function that no loss path can enter (:func:`unreachable_functions`)."""
    unreachable = unreachable_functions(tree)
    return not unreachable or id(top_statement(tree, node)) not in unreachable


def top_statement(tree: ast.Module, node: ast.AST) -> ast.AST:
    """The statement of the module's body that holds ``node``."""
    parents = parents_of(tree)
    child, parent = node, parents.get(id(node))
    while parent is not None and parent is not tree:
        child, parent = parent, parents.get(id(parent))
    return child


def unnamed_functions(tree: ast.Module) -> dict[int, str]:
    """The module-level functions the file names nowhere (id -> name): no read of the name, no
    attribute of that name, so nothing of the file calls, passes or decorates with them, and no
    value can flow into or out of them through this file. Computed once per tree."""
    found = tree.__dict__.get("_gradfix_unnamed")
    if found is None:
        functions = [s for s in tree.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))]
        found = {}
        if functions:
            found = {id(f): f.name for f in functions if not is_named(tree, f.name)}
        tree._gradfix_unnamed = found  # type: ignore[attr-defined]
    return found


def unreachable_functions(tree: ast.Module) -> set[int]:
    """The module-level functions no loss path can enter (their ids): the file names them
    nowhere (`unnamed_functions`), and they hold no loss root (no backward call,
    ``manual_backward``, optimizer ``step``) and no ``global`` or ``nonlocal`` (their values
    stay theirs). An evaluation or plotting function a script defines and another module
    imports. Computed once per tree."""
    found = tree.__dict__.get("_gradfix_unreachable")
    if found is None:
        candidates = dict(unnamed_functions(tree))
        found = set()
        if candidates:
            marks: list[ast.AST] = list(backward_calls_of(tree))
            marks += [c for c in calls_named(tree, _ROOT_METHODS) if isinstance(c.func, ast.Attribute)]  # type: ignore[attr-defined]
            marks += nodes_of(tree, ast.Global, ast.Nonlocal)
            for mark in marks:
                candidates.pop(id(top_statement(tree, mark)), None)
            found = set(candidates)
        tree._gradfix_unreachable = found  # type: ignore[attr-defined]
    return found


# Methods whose call may make a loss root (`_losspath._seed`), besides backward calls:
# `manual_backward(loss)`, an optimizer's `step(closure)`.
_ROOT_METHODS = frozenset({"manual_backward", "step"})


def has_loss_root(tree: ast.Module) -> bool:
    """Whether ``_losspath`` can find a loss root in ``tree``: a backward call, a
    ``manual_backward(loss)`` (``backward(loss)``) call, ``x.step(name)`` with a function ``name``
    of the file (a closure), or a ``training_step`` method. Computed once per tree."""
    found = tree.__dict__.get("_gradfix_loss_root")
    if found is None:
        found = tree._gradfix_loss_root = _has_loss_root(tree)  # type: ignore[attr-defined]
    return found


def _has_loss_root(tree: ast.Module) -> bool:
    if backward_calls_of(tree):
        return True
    functions = nodes_of(tree, ast.FunctionDef) + nodes_of(tree, ast.AsyncFunctionDef)
    if any(f.name == "training_step" for f in functions):  # type: ignore[attr-defined]
        return True
    steps = []
    for call in nodes_of(tree, ast.Call):
        func = call.func  # type: ignore[attr-defined]
        if isinstance(func, ast.Attribute) and call.args:  # type: ignore[attr-defined]
            if func.attr == "manual_backward":
                return True
            if func.attr == "step" and isinstance(call.args[0], ast.Name):  # type: ignore[attr-defined]
                steps.append(call.args[0].id)  # type: ignore[attr-defined]
    if steps:
        names = {f.name for f in functions}  # type: ignore[attr-defined]
        return any(name in names for name in steps)
    return False


def imports_of(tree: ast.Module):
    """The file's ``Imports``, the same table the analysis qualifies names with
    (``analysis.qualify`` is ``imports_of(tree).qualify``), built once per tree."""
    found = tree.__dict__.get("_gradfix_imports")
    if found is None:
        from ._values import Imports

        found = tree._gradfix_imports = Imports(tree)  # type: ignore[attr-defined]
    return found


def imports_torch(tree: ast.Module) -> bool:
    """``analysis.imports.imports_module("torch")``, before the analysis: the first test of
    most rules' ``detect``."""
    return imports_of(tree).imports_module("torch")


def import_aliases(tree: ast.Module) -> dict[str, set[str]]:
    """``Imports.aliases`` with every binding of a local name (a quick check does not know
    which import wins), built once per tree."""
    found = tree.__dict__.get("_gradfix_import_aliases")
    if found is not None:
        return found
    found = tree._gradfix_import_aliases = {}  # type: ignore[attr-defined]
    for node in nodes_of(tree, ast.Import):
        for alias in node.names:  # type: ignore[attr-defined]
            local, name = (alias.asname, alias.name) if alias.asname else (alias.name.split(".")[0],) * 2
            found.setdefault(local, set()).add(name)
    for node in nodes_of(tree, ast.ImportFrom):
        if node.module and not node.level:  # type: ignore[attr-defined]
            for alias in node.names:  # type: ignore[attr-defined]
                if alias.name != "*":
                    found.setdefault(alias.asname or alias.name, set()).add(f"{node.module}.{alias.name}")  # type: ignore[attr-defined]
    return found
