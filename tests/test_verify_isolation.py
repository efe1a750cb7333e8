"""The verifier contains what it runs: hangs, exits, signals, floods of output, processes left
running, files written. Each gives a verdict with its reason within the timeout, and nothing
is left behind: no process (found by a marker in its argv and by its pid) and no file.
"""

from __future__ import annotations

import os
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from gradfix.verify.api import FileVerdict, verify_pair
from gradfix.verify.compare import decide
from gradfix.verify.reaper import alive
from gradfix.verify.runner import RunSpec, run_specs, script_target

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process checks read /proc")

BACKWARD = "import torch\nw = torch.ones(2, requires_grad=True)\n(w * 2).sum().backward()\n"


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """(project folder, folder outside it for pid files); the verifier's temp root is watched."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    return project, outside, temp


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _with_marker(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as handle:
                if marker.encode() in handle.read():
                    found.append(int(entry))
        except OSError:
            pass
    return found


@pytest.fixture(scope="module")
def torchless_python(tmp_path_factory) -> str:
    """A bare venv: its programs start at once (no torch import before them)."""
    import venv

    folder = tmp_path_factory.mktemp("bare-venv")
    venv.create(folder, with_pip=False, symlinks=True)
    return str(folder / "bin" / "python")


def _verify(project: Path, source: str, timeout: float = 300.0, python: str | None = None, once: bool = False):
    """``gradfix verify prog.py prog.py``; ``once``: run it once and decide on that run twice (cheaper)."""
    script = project / "prog.py"
    script.write_text(textwrap.dedent(source))
    before = _files(project)
    started = time.monotonic()
    if once:
        (run,) = run_specs([RunSpec(script_target(str(script)))], python=python, timeout=timeout)
        result = FileVerdict(str(script), decide(run, run), original_run=run, rewritten_run=run)
    else:
        result = verify_pair(str(script), str(script), timeout=timeout, python=python)
    elapsed = time.monotonic() - started
    assert _files(project) == before, "the verified program changed the user's tree"
    return result, elapsed


def _assert_clean(marker: str, pid_file: Path | None, temp: Path) -> None:
    assert _with_marker(marker) == []
    if pid_file is not None:
        pids = [int(x) for x in pid_file.read_text().split()]
        assert pids and not [p for p in pids if alive(p)]
    assert list(temp.iterdir()) == [], "the scratch folder was not removed"


# A program that starts a child that outlives it, and a grandchild that escapes its
# process group and session (double fork + setsid); both record their pids.
SPAWN = '''\
    import os, subprocess, sys
    PIDS, MARKER = {pids!r}, {marker!r}
    sleeper = [sys.executable, "-c", "import time; time.sleep(300)", MARKER]
    child = subprocess.Popen(sleeper)
    if os.fork() == 0:
        os.setsid()
        grandchild = os.fork()
        if grandchild == 0:
            os.execv(sys.executable, sleeper)
        with open(PIDS, "a") as handle:
            handle.write("%d\\n" % grandchild)
        os._exit(0)
    os.wait()
    with open(PIDS, "a") as handle:
        handle.write("%d\\n" % child.pid)
'''


def test_a_program_that_hangs_times_out_and_its_children_end_with_it(sandbox, torchless_python):
    project, outside, temp = sandbox
    marker, pids = "gradfix-hang-" + uuid.uuid4().hex, outside / "pids.txt"
    result, elapsed = _verify(project, SPAWN.format(pids=str(pids), marker=marker) + "    import time\n    time.sleep(300)\n",
                              timeout=4, python=torchless_python)
    assert result.verdict == "unverifiable"
    assert result.decision.reason == "the original program timed out after 4s"
    assert result.original_run.timed_out and result.original_run.seconds < 4 + 2
    assert elapsed < 4 + 20  # the timeout, plus starting and cleaning up on a busy machine
    _assert_clean(marker, pids, temp)


def test_children_that_outlive_the_program_are_killed_when_it_ends(sandbox):
    project, outside, temp = sandbox
    marker, pids = "gradfix-orphans-" + uuid.uuid4().hex, outside / "pids.txt"
    result, _ = _verify(project, SPAWN.format(pids=str(pids), marker=marker) + textwrap.indent(BACKWARD, "    "))
    assert result.verdict == "verified", result.decision.as_dict()
    assert "the original program left 2 process(es) running; they were killed" in result.decision.notes
    assert len(pids.read_text().split()) == 4  # two per run
    _assert_clean(marker, pids, temp)


def test_sys_exit_3_is_unverifiable_and_says_so(sandbox):
    project, _, temp = sandbox
    result, _ = _verify(project, "import sys\nsys.exit(3)\n", once=True)
    assert result.verdict == "unverifiable"
    assert result.decision.reason == "the original program exited with status 3 before any backward()"
    assert result.original_run.returncode == 3
    _assert_clean("gradfix-none", None, temp)


def test_a_program_that_kills_itself_with_a_signal(sandbox):
    project, _, temp = sandbox
    result, _ = _verify(project, BACKWARD + "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n", once=True)
    assert result.verdict == "unverifiable"
    assert result.decision.reason == "the original program was killed by SIGKILL (signal 9)"
    assert result.original_run.returncode == -9
    _assert_clean("gradfix-none", None, temp)


def test_megabytes_of_output_are_drained_and_not_kept(sandbox):
    project, _, temp = sandbox
    result, _ = _verify(project, "import sys\nfor _ in range(64):\n    sys.stdout.write('x' * 2**20)\n" + BACKWARD,
                        once=True)
    assert result.verdict == "verified", result.decision.as_dict()
    assert result.original_run.output_bytes == 64 * 2**20
    _assert_clean("gradfix-none", None, temp)


def test_writes_go_to_the_scratch_folder_and_never_into_the_users_tree(sandbox):
    project, _, temp = sandbox
    (project / "data").mkdir()
    (project / "data" / "keep.txt").write_text("the user's data\n")
    result, _ = _verify(project, '''\
        import os, tempfile
        here = os.path.dirname(os.path.abspath(__file__))
        with open("relative.txt", "w") as handle:  # the working directory: scratch
            handle.write("ok")
        fd, name = tempfile.mkstemp()  # TMPDIR: scratch too
        os.write(fd, b"ok")
        blocked = []
        for attempt in (lambda: open(os.path.join(here, "data", "keep.txt"), "w"),
                        lambda: os.mkdir(os.path.join(here, "new")),
                        lambda: os.rename(os.path.join(here, "data", "keep.txt"), os.path.join(here, "moved.txt")),
                        lambda: os.remove(os.path.join(here, "data", "keep.txt"))):
            try:
                attempt()
            except PermissionError:
                blocked.append(1)
        assert len(blocked) == 4, blocked
''' + textwrap.indent(BACKWARD, "        ") + '''\
        torch.save(w, os.path.join(here, "checkpoint.pt"))  # stops the run, after the backward
        ''')
    assert result.verdict == "verified", result.decision.as_dict()
    assert any(note.startswith("the original program tried to write into your tree (") and
               note.endswith("and stopped there; the write was blocked") for note in result.decision.notes)
    _assert_clean("gradfix-none", None, temp)


def test_a_write_into_the_tree_before_any_backward_is_unverifiable(sandbox):
    project, _, temp = sandbox
    result, _ = _verify(project, "import os\nopen(os.path.join(os.path.dirname(__file__), 'out.txt'), 'w')\n" + BACKWARD,
                        once=True)
    assert result.verdict == "unverifiable"
    assert result.decision.reason == "the original program tried to write into your tree (%s) before any backward()" % (
        os.path.realpath(project / "out.txt"))
    assert "scratch working directory" in result.decision.advice
    _assert_clean("gradfix-none", None, temp)
