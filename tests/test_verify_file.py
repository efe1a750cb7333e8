"""``gradfix verify FILE`` and ``apply --verify``: these depend on the rules rewriting the file.

A case whose file the rules leave unchanged is skipped with the reason (the rule has not
landed yet); once it lands, the test runs unchanged.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from golden_cases import load_cases
from gradfix.engine import Settings, fix_source
from gradfix.verify.api import verify_file

HERE = Path(__file__).resolve().parent
CASES = HERE / "verify_cases"
FIXED_CASES = ["planar_flow_data", "tensor_packing", "ratio_property", "param_rebind", "normal_sampling",
               "distribution_outside_loop"]


def _skip_unless_rewritten(path: Path) -> Settings:
    """The settings under which the rules rewrite ``path`` (safe fixes first); skip if none do."""
    source = path.read_text(encoding="utf-8")
    for unsafe in (False, True):
        if fix_source(source, str(path), unsafe_fixes=unsafe) != source:
            return Settings.from_codes(unsafe_fixes=unsafe)
    pytest.skip("the rules leave %s unchanged (rule not landed yet)" % path.name)


@pytest.mark.parametrize("case", FIXED_CASES)
def test_verify_file_rewrites_and_verifies(case):
    old = CASES / case / "old.py"
    settings = _skip_unless_rewritten(old)
    result = verify_file(str(old), settings=settings)
    assert result.verdict == "verified", result.decision.as_dict()
    assert result.fixed_codes


def test_verify_file_without_a_rewrite_is_unchanged(tmp_path):
    script = tmp_path / "clean.py"
    script.write_text("import torch\nx = torch.ones(2, requires_grad=True)\n(x * 2).sum().backward()\n")
    result = verify_file(str(script))
    assert result.verdict == "unchanged"
    assert result.original_run is None  # nothing ran


GOLDEN = [c for c in load_cases() if c.verdict]


def pytest_generate_tests(metafunc):
    # Each verifier run starts two interpreters that import torch (about 6 s a case on 2
    # cores): the default run verifies the first runnable case of each rule, `--verify-all`
    # every one. The runtime harnesses (test_core_rules_runtime.py and the older per-rule
    # ones) run every runnable case by default.
    if "golden_case" not in metafunc.fixturenames:
        return
    cases = GOLDEN
    if not metafunc.config.getoption("--verify-all"):
        first = {code: next(c for c in GOLDEN if c.code == code) for code in sorted({c.code for c in GOLDEN})}
        cases = list(first.values())
    metafunc.parametrize("golden_case", cases, ids=[c.id for c in cases])


def test_golden_verdict(golden_case):
    case = golden_case
    settings = Settings.from_codes(unsafe_fixes=case.unsafe_fixes)
    result = verify_file(str(case.folder / "before.py"), settings=settings)
    assert result.verdict == case.verdict, result.decision.as_dict()


SCRIPT = textwrap.dedent('''\
    import torch
    from torch import nn

    w = nn.Parameter(torch.randn(3))
    packed = torch.tensor([w[0] * 2, w[1] + w[2]])
    packed.sum().backward()
    print(w.grad)
''')
LIBRARY = textwrap.dedent('''\
    import torch
    from torch import nn


    class Pack(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.randn(3))

        def forward(self):
            return torch.tensor([self.w[0] * 2, self.w[1] + self.w[2]])
''')


def test_apply_verify_writes_only_verified_rewrites(tmp_path):
    (tmp_path / "train.py").write_text(SCRIPT)
    (tmp_path / "lib.py").write_text(LIBRARY)
    for name in ("train.py", "lib.py"):
        if _skip_unless_rewritten(tmp_path / name).unsafe_fixes:
            pytest.skip("GF101 rewrites these only as an unsafe fix")
    env = dict(os.environ, PYTHONPATH=str(HERE.parent))
    proc = subprocess.run([sys.executable, "-m", "gradfix", "apply", "--verify", str(tmp_path), "--isolated"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # one file could not be verified
    assert "train.py: verified" in proc.stdout
    assert "lib.py: unverifiable" in proc.stdout and "--run" in proc.stdout
    assert (tmp_path / "train.py").read_text() != SCRIPT  # written
    assert "torch.stack" in (tmp_path / "train.py").read_text()
    assert (tmp_path / "lib.py").read_text() == LIBRARY  # left untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lib.py", "train.py"]
