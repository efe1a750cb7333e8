"""``gradfix verify PATHS --run 'python -m pytest ...'`` on a src-layout package installed editable.

The package lives in tmp_path and is installed with ``pip install -e`` (offline: no
dependencies, no build isolation) into a venv that sees this interpreter's site-packages
(torch, pytest, pip, and the setuptools of the ``test`` extra) through a ``.pth`` file. The
rewritten module is served by the import hook; nothing is written into the package.
"""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gradfix.verify.runner import UsageError, parse_run_command

ROOT = Path(__file__).resolve().parent.parent

MODEL = textwrap.dedent('''\
    import torch
    from torch import nn


    class Summary(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.randn(3))

        def forward(self, x):
            return torch.tensor([self.w[0] * x.mean(), self.w[1] + self.w[2]])
''')

TEST = textwrap.dedent('''\
    import torch
    from summarypkg.model import Summary


    def test_summary_trains():
        model = Summary()
        out = model(torch.randn(4, 2))
        out.sum().backward()
        assert model.w.grad is not None
''')


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file() and "venv" not in p.parts}


@pytest.fixture(scope="module")
def editable_project(tmp_path_factory) -> tuple[Path, Path]:
    project = tmp_path_factory.mktemp("proj")
    (project / "src" / "summarypkg").mkdir(parents=True)
    (project / "tests").mkdir()
    (project / "pyproject.toml").write_text(textwrap.dedent('''\
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "summarypkg"
        version = "0.0.1"

        [tool.setuptools.packages.find]
        where = ["src"]
    '''))
    (project / "src" / "summarypkg" / "__init__.py").write_text("")
    (project / "src" / "summarypkg" / "model.py").write_text(MODEL)
    (project / "tests" / "test_model.py").write_text(TEST)
    venv = project / "venv"
    python = _venv_seeing_these_packages(venv)
    proc = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                           "--no-index", "-e", str(project)], capture_output=True, text=True)
    assert proc.returncode == 0, "editable install failed:\n" + proc.stdout + proc.stderr
    return project, python


def _venv_seeing_these_packages(venv: Path) -> Path:
    """A venv whose Python imports what this one does (torch, pytest, pip, setuptools), offline.

    ``--system-site-packages`` would not do: when the tests run in a venv it exposes the
    base interpreter's packages, not the venv's. A ``.pth`` file listing this interpreter's
    site-packages adds them after the new venv's own, so the editable install lands in it.
    """
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                             capture_output=True, text=True, check=True).stdout.strip()
    ours = [site.getusersitepackages()] if site.ENABLE_USER_SITE else []
    Path(purelib, "_gradfix_test_parent_env.pth").write_text("\n".join(site.getsitepackages() + ours) + "\n")
    return python


def test_run_pytest_verifies_a_rewrite_inside_an_editable_package(editable_project):
    project, python = editable_project
    from gradfix.engine import fix_source

    model = project / "src" / "summarypkg" / "model.py"
    if fix_source(MODEL, str(model)) == MODEL:
        pytest.skip("GF101 does not rewrite this module yet (rules not landed)")
    before = _files(project)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-m", "gradfix", "verify", "src", "--run", "python -m pytest -q tests/test_model.py",
         "--python", str(python), "--output-format", "json"],
        cwd=project, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (entry,) = json.loads(proc.stdout)["files"]
    assert entry["path"].endswith("model.py")
    assert entry["verdict"] == "verified"
    assert "model.w: grad None -> finite nonzero" in entry["fixed"]
    # The original pytest run failed (its backward raised), the rewritten one passed.
    assert entry["runs"]["original"]["returncode"] != 0
    assert entry["runs"]["rewritten"]["returncode"] == 0
    assert _files(project) == before, "the verifier wrote into the project"


def test_parse_run_command(tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "train.py").write_text("")
    t = parse_run_command("python -m pytest -q tests::test_x", str(tmp_path))
    assert (t.kind, t.module, t.sys_path0, t.python) == ("module", "pytest", str(tmp_path), None)
    assert t.argv == ["pytest", "-q", str(tmp_path / "tests") + "::test_x"]
    t = parse_run_command("venv/bin/python train.py --epochs 1", str(tmp_path))
    assert t.kind == "script" and t.path == str(tmp_path / "train.py")
    assert t.python == str(tmp_path / "venv" / "bin" / "python")
    assert t.argv[1:] == ["--epochs", "1"]
    for bad in ("ls -l", "python", "python -c 'x'", "python missing.py", "python -m"):
        with pytest.raises(UsageError):
            parse_run_command(bad, str(tmp_path))


def test_timeout_is_unverifiable_with_advice(tmp_path):
    from gradfix.verify.api import verify_pair

    slow = tmp_path / "slow.py"
    slow.write_text("import time\ntime.sleep(60)\n")
    result = verify_pair(str(slow), str(slow), timeout=1.5)
    assert result.verdict == "unverifiable"
    assert "timed out after 1.5s" in result.decision.reason
    assert "--timeout" in result.decision.advice
    assert result.original_run.seconds < 30


def test_run_script_serves_a_hand_made_rewrite_of_an_imported_module(tmp_path):
    """The import hook swaps the rewritten text in under the original file name."""
    from gradfix.verify.api import verify_rewrites

    lib = tmp_path / "lib.py"
    lib.write_text(MODEL.replace("import torch\n", "import torch\nWHERE = __file__\n", 1))
    (tmp_path / "drive.py").write_text(textwrap.dedent('''\
        import os
        import torch
        import lib

        assert lib.WHERE == os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib.py"), lib.WHERE
        model = lib.Summary()
        model(torch.ones(2, 2)).sum().backward()
    '''))
    before = _files(tmp_path)
    rewritten = lib.read_text().replace("torch.tensor([", "torch.stack([")
    (result,) = verify_rewrites({str(lib): rewritten}, run="python drive.py", cwd=str(tmp_path)).values()
    assert result.verdict == "verified", result.decision.as_dict()
    assert "model.w: grad None -> finite nonzero" in result.decision.fixed
    assert _files(tmp_path) == before
