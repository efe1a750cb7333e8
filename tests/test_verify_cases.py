"""Runnable verifier cases: tests/verify_cases/<case>/{old.py, new.py, expected.toml}.

Each pair runs for real (two subprocesses of this Python) and must get the verdict its
``expected.toml`` names. The set holds seed-shaped fixes (``verified``) and negative
controls: an unfixed copy, a changed constant, a detached path, a module without an
entry point, deleted init draws.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gradfix.verify.api import verify_pair

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CASES = Path(__file__).resolve().parent / "verify_cases"
CASE_DIRS = sorted(p.parent for p in CASES.glob("*/expected.toml"))


def expected_verdict(case: Path) -> str:
    return tomllib.loads((case / "expected.toml").read_text(encoding="utf-8"))["verdict"]


def tree_snapshot(root: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime for p in root.rglob("*")}


@pytest.mark.parametrize("case", CASE_DIRS, ids=[c.name for c in CASE_DIRS])
def test_case_verdict(case: Path):
    before = tree_snapshot(case)
    result = verify_pair(str(case / "old.py"), str(case / "new.py"))
    assert result.verdict == expected_verdict(case), result.decision.as_dict()
    assert result.decision.reason
    if result.verdict == "unverifiable":
        assert "--run" in result.decision.advice
    assert tree_snapshot(case) == before, "the verifier wrote into the user's tree"


def test_cli_json_and_exit_codes():
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    case = CASES / "no_entry_point"  # the cheapest pair to run: nothing trains
    proc = subprocess.run([sys.executable, "-m", "gradfix", "verify", str(case / "old.py"), str(case / "new.py"),
                           "--output-format", "json"], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    (entry,) = report["files"]
    assert entry["verdict"] == "unverifiable"
    assert entry["new_path"].endswith("new.py")
    assert "no entry point" in entry["reason"] and "--run" in entry["advice"]
    assert entry["runs"]["original"]["backward_calls"] == 0
    assert report["summary"] == {"unverifiable": 1}

    bad = subprocess.run([sys.executable, "-m", "gradfix", "verify", str(case / "old.py"), "--run", "ls -l"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1 and "--run must start with python" in bad.stderr
