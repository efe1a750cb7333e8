"""The persistent cache of ``gradfix check`` results: ``.gradfix_cache/``.

An entry is what checking one file reported (its diagnostics, or the error that stopped
it), stored under the hash of the file's bytes, in a folder named by everything else the
result depends on: gradfix's version and the code of gradfix and its rules (an edited
rule invalidates it), the selected rules, the settings and the kind of file. A file's path
is not part of the key: rules read only its text, so a file that moved, or two copies of
one file, share an entry. Only ``check`` results are cached; fixes are always computed.

The folder marks itself as a cache (``CACHEDIR.TAG``, so backup tools skip it) and keeps
itself out of git (a ``.gitignore`` of ``*``). Entries are written to a temporary file and
renamed into place, so runs that share the folder never see half an entry; a missing or
unreadable entry is a miss. ``gradfix clean`` removes the folder.
"""

from __future__ import annotations

import json
import os
import shutil
import sys

from gradfix.notebook import replace_file

try:  # hashlib's own blake2b: importing hashlib itself also loads OpenSSL, ~10 ms of every start
    from _blake2 import blake2b
except ImportError:  # a Python without the module
    from hashlib import blake2b

DIRECTORY_NAME = ".gradfix_cache"
ENTRY_FORMAT = 1
_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by gradfix.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)


def default_directory() -> str:
    """``$GRADFIX_CACHE_DIR``, or ``.gradfix_cache`` in the current folder (like ruff's)."""
    return os.environ.get("GRADFIX_CACHE_DIR") or os.path.join(os.getcwd(), DIRECTORY_NAME)


def content_hash(data: bytes) -> str:
    return blake2b(data, digest_size=16).hexdigest()


_CODE_FINGERPRINT: str | None = None


def code_fingerprint() -> str:
    """Changes when any module of gradfix or of its rules changes (size and modification time)."""
    global _CODE_FINGERPRINT
    if _CODE_FINGERPRINT is None:
        import gradfix
        import gradfix.codemods

        digest = blake2b(digest_size=16)
        digest.update(f"{gradfix.__version__} {sys.version_info[:2]} {ENTRY_FORMAT}".encode())
        for directory in sorted({*gradfix.__path__, *gradfix.codemods.__path__}):
            for name in sorted(os.listdir(directory)):
                if name.endswith(".py"):
                    status = os.stat(os.path.join(directory, name))
                    digest.update(f"{name} {status.st_size} {status.st_mtime_ns}\n".encode())
        _CODE_FINGERPRINT = digest.hexdigest()
    return _CODE_FINGERPRINT


class Cache:
    """Check results by content hash, in ``directory``, for one set of settings (``namespace``)."""

    def __init__(self, directory: str, namespace: str) -> None:
        self.directory = directory
        self.namespace = namespace
        self._made: set[str] = set()

    def _path(self, kind: str, digest: str) -> str:
        return os.path.join(self.directory, self.namespace, kind, digest[:2], digest[2:])

    def get(self, kind: str, digest: str) -> dict | None:
        try:
            with open(self._path(kind, digest), "rb") as handle:
                entry = json.loads(handle.read())
        except (OSError, ValueError):
            return None
        return entry if isinstance(entry, dict) else None

    def put(self, kind: str, digest: str, entry: dict) -> None:
        """Store ``entry`` atomically; a cache that cannot be written is silently skipped."""
        path = self._path(kind, digest)
        folder = os.path.dirname(path)
        try:
            if folder not in self._made:
                if not os.path.isdir(self.directory):
                    prepare(self.directory)
                os.makedirs(folder, exist_ok=True)
                self._made.add(folder)
            replace_file(path, json.dumps(entry, separators=(",", ":")).encode("utf-8"), sync=False)
        except OSError:
            pass


def prepare(directory: str) -> None:
    """Create the cache folder with its ``CACHEDIR.TAG`` and ``.gitignore`` (safe to race)."""
    os.makedirs(directory, exist_ok=True)
    for name, text in (("CACHEDIR.TAG", _TAG), (".gitignore", "# Created by gradfix automatically.\n*\n")):
        path = os.path.join(directory, name)
        if not os.path.exists(path):
            replace_file(path, text.encode("utf-8"), sync=False)


def is_cache_directory(directory: str) -> bool:
    try:
        with open(os.path.join(directory, "CACHEDIR.TAG"), encoding="utf-8") as handle:
            return handle.read(43) == _TAG[:43]
    except OSError:
        return False


def clean(directory: str) -> bool:
    """Remove the cache folder; True if there was one. Refuses a folder that is not a gradfix cache."""
    if not os.path.isdir(directory):
        return False
    if not is_cache_directory(directory):
        raise ValueError(f"{directory} has no CACHEDIR.TAG of gradfix; not removing it")
    shutil.rmtree(directory)
    return True
