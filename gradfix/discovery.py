"""Which files to check: walk the given paths like ruff does.

Directories are walked without following symbolic links; version-control, virtual
environment, cache and build folders are skipped, and so is whatever a ``.gitignore``
on the way excludes. Files named explicitly are always checked.
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pathspec

SOURCE_SUFFIXES = (".py", ".pyi", ".ipynb")
DEFAULT_EXCLUDES = (
    ".bzr", ".direnv", ".eggs", ".git", ".gradfix_cache", ".git-rewrite", ".hg", ".ipynb_checkpoints", ".mypy_cache",
    ".nox", ".pants.d", ".pyenv", ".pytest_cache", ".pytype", ".ruff_cache", ".svn", ".tox", ".venv",
    ".vscode", "__pycache__", "__pypackages__", "_build", "buck-out", "build", "dist", "node_modules",
    "site-packages", "venv",
)


class DiscoveryError(Exception):
    pass


@dataclass
class _Ignore:
    base: str
    spec: pathspec.PathSpec


def _load_gitignore(directory: str) -> _Ignore | None:
    path = os.path.join(directory, ".gitignore")
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return None
    import pathspec  # only where a .gitignore is read: it costs a start-up that checks one file ~40 ms

    return _Ignore(directory, pathspec.GitIgnoreSpec.from_lines(lines))


def _ignored(path: str, is_dir: bool, ignores: list[_Ignore]) -> bool:
    for ignore in ignores:
        relative = os.path.relpath(path, ignore.base).replace(os.sep, "/")
        if is_dir:
            relative += "/"
        if ignore.spec.match_file(relative):
            return True
    return False


def _is_virtualenv(directory: str) -> bool:
    return os.path.exists(os.path.join(directory, "pyvenv.cfg"))


def _excluded(name: str, excludes: tuple[str, ...]) -> bool:
    return _exclusion(excludes)(name)


_EXCLUSIONS: dict[tuple[str, ...], object] = {}


def _exclusion(excludes: tuple[str, ...]):
    """A test of a name against ``excludes``: a set of the plain names, one regex of the globs
    (a run checks thousands of names; fnmatch per pattern and name was a third of a warm run)."""
    test = _EXCLUSIONS.get(excludes)
    if test is None:
        plain = {p for p in excludes if not any(c in p for c in "*?[")}
        globs = [p for p in excludes if p not in plain]
        pattern = re.compile("|".join(fnmatch.translate(g) for g in globs)) if globs else None
        test = _EXCLUSIONS[excludes] = lambda name: name in plain or (pattern is not None and pattern.match(name) is not None)
    return test  # type: ignore[return-value]


def _repository_ignores(start: str) -> list[_Ignore]:
    """The .gitignore files of the folders above ``start``, up to its repository's root.

    Like git: none when ``start`` is itself the root, and none when it is in no repository
    (a stray ``~/.gitignore`` must not hide a project that is not under git).
    """
    ignores: list[_Ignore] = []
    current = os.path.abspath(start)
    while not os.path.exists(os.path.join(current, ".git")):
        parent = os.path.dirname(current)
        if parent == current:
            return []
        current = parent
        found = _load_gitignore(current)
        if found is not None:
            ignores.append(found)
    return ignores


def find_files(paths: list[str], extra_excludes: tuple[str, ...] = (), respect_gitignore: bool = True) -> list[str]:
    """Source files under ``paths``, sorted, without duplicates. Raises DiscoveryError."""
    excludes = DEFAULT_EXCLUDES + tuple(extra_excludes)
    seen: set[str] = set()
    found: list[str] = []

    def add(path: str, key: str | None = None) -> None:
        key = key or os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            found.append(path)

    for root in paths:
        if not os.path.lexists(root):
            raise DiscoveryError(f"no such file or directory: {root}")
        if not os.path.isdir(root) or os.path.islink(root):
            if os.path.islink(root) and os.path.isdir(root):
                raise DiscoveryError(f"{root} is a symbolic link to a directory; pass the directory it points to")
            add(root)  # named explicitly: always checked
            continue
        base_ignores = _repository_ignores(root) if respect_gitignore else []
        # Links are never followed below the root: a file's real path is the root's plus the rest.
        real_root = os.path.realpath(root)
        stack: list[tuple[str, list[_Ignore]]] = [(root, base_ignores)]
        while stack:
            directory, ignores = stack.pop()
            own = _load_gitignore(directory) if respect_gitignore else None
            if own is not None:
                ignores = [*ignores, own]
            try:
                entries = sorted(os.scandir(directory), key=lambda e: e.name)
            except OSError as exc:
                raise DiscoveryError(f"cannot read directory {directory}: {exc.strerror}") from None
            subdirs = []
            for entry in entries:
                if entry.is_symlink():
                    continue  # never follow links out of the tree
                if _excluded(entry.name, excludes):
                    continue
                if entry.is_dir():
                    if _is_virtualenv(entry.path) or _ignored(entry.path, True, ignores):
                        continue
                    subdirs.append(entry.path)
                elif entry.name.endswith(SOURCE_SUFFIXES) and not _ignored(entry.path, False, ignores):
                    add(entry.path, os.path.join(real_root, entry.path[len(root):].lstrip(os.sep)))
            stack.extend((d, ignores) for d in reversed(subdirs))
    return sorted(found)
