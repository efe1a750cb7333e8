"""A small fixed slice of the real-code corpus, built at test time when no corpus exists.

The full corpus (``make_corpus.sh`` in the project's shared folder) is ~7,800 files and is
built by hand; the round-trip test needs only a few real files. This takes the wheels of two
small packages at the versions that script pins (read from it, so the two never drift),
downloaded with pip, and keeps their ``.py`` files in the script's layout (``NAME-VERSION/``)
in ``<corpus>-slice``, beside where the full corpus goes. Downloaded wheels are kept in the
script's wheel folder (``$GRADFIX_WHEELS`` or ``<corpus>.wheels``), so each tool reuses the
other's downloads.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

# Pure-Python, torch-heavy and small (under 1 MB each, ~330 .py files together).
SLICE_PACKAGES = ("accelerate", "peft")

ROOT = Path(__file__).resolve().parent.parent

# What pip prints when it cannot talk to the registry, as opposed to e.g. a bad pin.
_UNREACHABLE = (
    "(from versions: none)",
    "Failed to establish a new connection",
    "Max retries exceeded",
    "NewConnectionError",
    "ConnectTimeout",
    "ProxyError",
    "Temporary failure in name resolution",
    "Name or service not known",
    "Network is unreachable",
)


class RegistryUnreachable(Exception):
    """pip could not reach the package registry (the message is one line)."""


def corpus_script() -> Path:
    """``$GRADFIX_CORPUS_SCRIPT``, or ``shared/corpus/make_corpus.sh`` beside the repository."""
    return Path(os.environ.get("GRADFIX_CORPUS_SCRIPT") or ROOT.parent / "shared" / "corpus" / "make_corpus.sh")


def pinned_packages(script_text: str) -> dict[str, str]:
    """name -> version of the ``PACKAGES=( name==version ... )`` array of the corpus script."""
    block = re.search(r"^PACKAGES=\((.*?)^\)", script_text, re.S | re.M)
    if not block:
        raise ValueError("the corpus script has no PACKAGES=( ... ) list")
    return dict(re.findall(r"^\s*([A-Za-z0-9_.-]+)==([^\s#]+)", block.group(1), re.M))


def build_slice(corpus: str, script: Path, names: tuple[str, ...] = SLICE_PACKAGES) -> str:
    """Make (or reuse) ``<corpus>-slice`` holding the ``.py`` files of ``names``; return its path."""
    pins = pinned_packages(script.read_text())
    unknown = [name for name in names if name not in pins]
    if unknown:
        raise ValueError(f"{script}: no pinned version for {', '.join(unknown)}")
    base = corpus.rstrip(os.sep)
    slice_dir = base + "-slice"
    wheels = os.environ.get("GRADFIX_WHEELS") or base + ".wheels"
    os.makedirs(slice_dir, exist_ok=True)
    for name in names:
        dest = os.path.join(slice_dir, f"{name}-{pins[name]}")
        if not os.path.isdir(dest):
            _extract_sources(_wheel(name, pins[name], wheels), dest)
    return slice_dir


def _find_wheel(folder: str, name: str, version: str) -> str | None:
    # Wheel file names spell the distribution with '_' for '-'.
    prefix = f"{name.replace('-', '_')}-{version}-"
    found = sorted(f for f in os.listdir(folder) if f.startswith(prefix) and f.endswith(".whl")) if os.path.isdir(folder) else []
    return os.path.join(folder, found[0]) if found else None


def _wheel(name: str, version: str, wheels: str) -> str:
    have = _find_wheel(wheels, name, version)
    if have:
        return have
    os.makedirs(wheels, exist_ok=True)
    pip = shlex.split(os.environ["GRADFIX_PIP"]) if os.environ.get("GRADFIX_PIP") else [sys.executable, "-m", "pip"]
    spec = f"{name}=={version}"
    # Download into a private folder, then move: a concurrent run never sees half a wheel.
    with tempfile.TemporaryDirectory(dir=wheels, prefix=".download-") as temp:
        done = subprocess.run([*pip, "download", "--no-deps", "--only-binary=:all:", "--quiet",
                               "--retries", "1", "--timeout", "30", "-d", temp, spec],
                              capture_output=True, text=True)
        got = _find_wheel(temp, name, version)
        if done.returncode != 0 or not got:
            output = done.stdout + done.stderr
            errors = [line.strip() for line in output.splitlines() if line.startswith("ERROR")]
            last = (errors or [line.strip() for line in output.splitlines() if line.strip()] or ["no output"])[-1]
            if any(marker in output for marker in _UNREACHABLE):
                raise RegistryUnreachable(
                    f"package registry unreachable: pip could not download {spec} for the corpus slice "
                    f"({last}); set GRADFIX_CORPUS to a corpus built with make_corpus.sh")
            raise RuntimeError(f"pip download {spec} failed (exit {done.returncode}): {output.strip()}")
        final = os.path.join(wheels, os.path.basename(got))
        os.replace(got, final)
    return final


def _extract_sources(wheel: str, dest: str) -> None:
    """Only the ``.py`` files of ``wheel``, into ``dest``, which appears complete or not at all."""
    partial = tempfile.mkdtemp(dir=os.path.dirname(os.path.dirname(dest)), prefix=".gradfix-corpus-slice-partial-")
    os.chmod(partial, 0o755)  # mkdtemp makes it private; the corpus script's folders are not
    try:
        with zipfile.ZipFile(wheel) as archive:
            for member in archive.namelist():
                if member.endswith(".py"):
                    archive.extract(member, partial)  # extract() drops absolute and '..' parts
        try:
            os.rename(partial, dest)
        except OSError:
            if not os.path.isdir(dest):  # else another run finished it first
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
