"""``[tool.gradfix]`` in pyproject.toml.

Keys (all optional): ``select``, ``ignore`` (codes or prefixes), ``exclude`` (extra folder
or file name patterns to skip), ``unsafe-fixes`` (bool), ``per-file-ignores`` (glob ->
codes), ``max-file-size`` (bytes). Command-line options override the file.
"""

from __future__ import annotations

import fnmatch
import os
import sys
from dataclasses import dataclass, field

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10
    import tomli as tomllib


class ConfigError(Exception):
    pass


@dataclass
class Config:
    path: str | None = None
    select: list[str] | None = None
    ignore: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    unsafe_fixes: bool = False
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)
    max_file_size: int | None = None

    def ignores_for(self, path: str) -> list[str]:
        """Codes ignored for ``path`` by ``per-file-ignores`` (globs relative to the config)."""
        if not self.per_file_ignores:
            return []
        base = os.path.dirname(self.path) if self.path else os.getcwd()
        relative = os.path.relpath(os.path.abspath(path), base).replace(os.sep, "/")
        codes: list[str] = []
        for pattern, ignored in self.per_file_ignores.items():
            if fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(os.path.basename(path), pattern):
                codes.extend(ignored)
        return codes


_KEYS = {"select", "ignore", "exclude", "unsafe-fixes", "per-file-ignores", "max-file-size"}


def _codes(value: object, key: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"[tool.gradfix] {key} must be a list of rule codes")
    return [v.upper() for v in value]


def load_config(path: str) -> Config:
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML in {path}: {exc}") from None
    section = data.get("tool", {}).get("gradfix", {})
    if not isinstance(section, dict):
        raise ConfigError(f"[tool.gradfix] in {path} must be a table")
    unknown = set(section) - _KEYS
    if unknown:
        raise ConfigError(f"unknown key in [tool.gradfix] of {path}: {sorted(unknown)[0]}")
    config = Config(path=path)
    if "select" in section:
        config.select = _codes(section["select"], "select")
    if "ignore" in section:
        config.ignore = _codes(section["ignore"], "ignore")
    if "exclude" in section:
        exclude = section["exclude"]
        if not isinstance(exclude, list) or not all(isinstance(v, str) for v in exclude):
            raise ConfigError("[tool.gradfix] exclude must be a list of patterns")
        config.exclude = exclude
    if "unsafe-fixes" in section:
        if not isinstance(section["unsafe-fixes"], bool):
            raise ConfigError("[tool.gradfix] unsafe-fixes must be true or false")
        config.unsafe_fixes = section["unsafe-fixes"]
    if "per-file-ignores" in section:
        table = section["per-file-ignores"]
        if not isinstance(table, dict):
            raise ConfigError("[tool.gradfix] per-file-ignores must be a table of glob = [codes]")
        config.per_file_ignores = {k: _codes(v, "per-file-ignores") for k, v in table.items()}
    if "max-file-size" in section:
        if not isinstance(section["max-file-size"], int) or section["max-file-size"] <= 0:
            raise ConfigError("[tool.gradfix] max-file-size must be a positive number of bytes")
        config.max_file_size = section["max-file-size"]
    return config


def find_config(start: str) -> Config:
    """The nearest pyproject.toml with a [tool.gradfix] table, from ``start`` upwards."""
    current = os.path.abspath(start)
    if not os.path.isdir(current):
        current = os.path.dirname(current)
    while True:
        candidate = os.path.join(current, "pyproject.toml")
        if os.path.isfile(candidate):
            try:
                with open(candidate, "rb") as handle:
                    has_section = b"[tool.gradfix" in handle.read()
            except OSError:
                has_section = False
            if has_section:
                return load_config(candidate)
        parent = os.path.dirname(current)
        if parent == current:
            return Config()
        current = parent
