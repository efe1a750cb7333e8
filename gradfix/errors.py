"""What can stop a source from being checked, and where: shared by the engine and the reader."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MAX_FILE_BYTES = 10 * 1024 * 1024


class InputError(Exception):
    """A file that cannot be checked (unreadable, undecodable, too large, invalid)."""


@dataclass(frozen=True)
class ErrorPosition:
    """Where an input error is: 1-based line and column (notebooks: within ``cell``)."""

    line: int
    column: int
    cell: int | None = None


class SourceSyntaxError(InputError):
    """A source CPython rejects, with CPython's message and position."""

    def __init__(self, message: str, position: ErrorPosition) -> None:
        super().__init__(message)
        self.message = message
        self.position = position
