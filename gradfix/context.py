"""What a rule sees of one file: its text, its LibCST tree, and memoised analyses."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Callable, TypeVar

import libcst as cst  # deferred until a fix is built (gradfix/_lazy.py): nothing here runs at import

if TYPE_CHECKING:  # pragma: no cover
    from libcst.metadata import CodeRange

T = TypeVar("T")


def _parent_collector():
    """A visitor that records, in one pass, every node's parent and children (in source order)."""

    class _ParentCollector(cst.CSTVisitor):
        def __init__(self) -> None:
            self.parents: dict[int, cst.CSTNode] = {}
            self.children: dict[int, list[cst.CSTNode]] = {}
            self._stack: list[cst.CSTNode] = []

        def on_visit(self, node: cst.CSTNode) -> bool:
            if self._stack:
                self.parents[id(node)] = self._stack[-1]
                self.children[id(self._stack[-1])].append(node)
            self.children[id(node)] = []
            self._stack.append(node)
            return True

        def on_leave(self, original_node: cst.CSTNode) -> None:
            self._stack.pop()

    return _ParentCollector()


class FileContext:
    """One parsed file. Analyses are built lazily and shared by every rule via :meth:`cached`."""

    def __init__(self, source: str, module: cst.Module, path: str) -> None:
        self.source = source
        self.module = module
        self.path = path
        self._cache: dict[object, object] = {}
        self._parents: dict[int, cst.CSTNode] | None = None
        self._children: dict[int, list[cst.CSTNode]] = {}
        self._positions: object = None
        self._by_range: dict[tuple[int, int, int, int], list[cst.CSTNode]] | None = None
        self._lines: list[str] | None = None

    def cached(self, key: object, factory: Callable[[], T]) -> T:
        """Compute ``factory()`` once per file; rules share analyses through this."""
        if key not in self._cache:
            self._cache[key] = factory()
        return self._cache[key]  # type: ignore[return-value]

    # Tree navigation -------------------------------------------------------------
    def _index(self) -> dict[int, cst.CSTNode]:
        if self._parents is None:
            collector = _parent_collector()
            self.module.visit(collector)
            self._parents, self._children = collector.parents, collector.children
        return self._parents

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return self._index().get(id(node))

    def children(self, node: cst.CSTNode) -> list[cst.CSTNode]:
        """``node.children`` of a node of this module, from one shared pass over the tree.

        LibCST computes ``node.children`` anew at every access (a visit of the node): a
        walk over a large file through it costs seconds. Use this, or :meth:`walk`.
        """
        self._index()
        found = self._children.get(id(node))
        return list(node.children) if found is None else found

    def walk(self, node: cst.CSTNode | None = None):
        """``node`` (default: the module) and every node below it, in source order."""
        self._index()
        stack = [node if node is not None else self.module]
        while stack:
            current = stack.pop()
            yield current
            stack.extend(reversed(self.children(current)))

    def ancestors(self, node: cst.CSTNode):
        """Parents of ``node``, nearest first."""
        current = self.parent(node)
        while current is not None:
            yield current
            current = self.parent(current)

    # Positions -------------------------------------------------------------------
    def code_range(self, node: cst.CSTNode) -> CodeRange:
        """1-based line, 0-based column range of ``node`` (computed on first use)."""
        if self._positions is None:
            from libcst.metadata import MetadataWrapper, PositionProvider

            wrapper = MetadataWrapper(self.module, unsafe_skip_copy=True)
            self._positions = wrapper.resolve(PositionProvider)
        return self._positions[node]  # type: ignore[index]

    def code(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node)

    # From ast nodes ----------------------------------------------------------------------
    def node_for(self, node: ast.AST) -> cst.CSTNode | None:
        """The LibCST node of this module at the place (and of the sort) of ``node``, an
        ``ast`` node of the same source. Rules detect on ``ast`` and build fixes with this."""
        if self._by_range is None:
            self.code_range(self.module)
            self._by_range = {}
            for cst_node, r in self._positions.items():  # type: ignore[union-attr]
                key = (r.start.line, r.start.column, r.end.line, r.end.column)
                self._by_range.setdefault(key, []).append(cst_node)
        key = (node.lineno, self._column(node.lineno, node.col_offset), node.end_lineno, self._column(node.end_lineno, node.end_col_offset))
        wanted = _cst_types().get(type(node))
        for candidate in self._by_range.get(key, []):  # type: ignore[arg-type]
            if wanted is None or isinstance(candidate, wanted):
                return candidate
        return None

    def _column(self, line: int | None, byte_offset: int | None) -> int:
        """ast counts UTF-8 bytes in a line; LibCST counts characters."""
        if self._lines is None:
            self._lines = self.source.splitlines(keepends=True)
        text = self._lines[(line or 1) - 1] if line and line <= len(self._lines) else ""
        if text.isascii():
            return byte_offset or 0
        return len(text.encode("utf-8")[: byte_offset or 0].decode("utf-8", errors="replace"))


_CST_TYPES: dict[type, tuple[type, ...]] = {}


def _cst_types() -> dict[type, tuple[type, ...]]:
    """The LibCST node types of each ``ast`` node type (built on first use)."""
    if not _CST_TYPES:
        _CST_TYPES.update(_cst_types_table())
    return _CST_TYPES


def _cst_types_table() -> dict[type, tuple[type, ...]]:
    return {
        ast.Call: (cst.Call,),
        ast.Name: (cst.Name,),
        ast.Attribute: (cst.Attribute,),
        ast.Subscript: (cst.Subscript,),
        ast.BinOp: (cst.BinaryOperation,),
        ast.UnaryOp: (cst.UnaryOperation,),
        ast.BoolOp: (cst.BooleanOperation,),
        ast.Compare: (cst.Comparison,),
        ast.List: (cst.List,),
        ast.Tuple: (cst.Tuple,),
        ast.Dict: (cst.Dict,),
        ast.Set: (cst.Set,),
        ast.ListComp: (cst.ListComp,),
        ast.GeneratorExp: (cst.GeneratorExp,),
        ast.IfExp: (cst.IfExp,),
        ast.Lambda: (cst.Lambda,),
        ast.Constant: (cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString, cst.ConcatenatedString, cst.Name),
        ast.Starred: (cst.StarredElement,),
        ast.Assign: (cst.Assign,),
        ast.AugAssign: (cst.AugAssign,),
        ast.AnnAssign: (cst.AnnAssign,),
        ast.Expr: (cst.Expr,),
        ast.Return: (cst.Return,),
        ast.For: (cst.For,),
        ast.While: (cst.While,),
        ast.If: (cst.If,),
        ast.With: (cst.With,),
        ast.FunctionDef: (cst.FunctionDef,),
        ast.ClassDef: (cst.ClassDef,),
    }
