"""What a rule sees of one file: its text, its LibCST tree, and memoised analyses."""

from __future__ import annotations

from typing import Callable, TypeVar

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

T = TypeVar("T")


class _ParentCollector(cst.CSTVisitor):
    """One pass over the tree: every node's parent and children (in source order)."""

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

    def cached(self, key: object, factory: Callable[[], T]) -> T:
        """Compute ``factory()`` once per file; rules share analyses through this."""
        if key not in self._cache:
            self._cache[key] = factory()
        return self._cache[key]  # type: ignore[return-value]

    # Tree navigation -------------------------------------------------------------
    def _index(self) -> dict[int, cst.CSTNode]:
        if self._parents is None:
            collector = _ParentCollector()
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
            wrapper = MetadataWrapper(self.module, unsafe_skip_copy=True)
            self._positions = wrapper.resolve(PositionProvider)
        return self._positions[node]  # type: ignore[index]

    def code(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node)
