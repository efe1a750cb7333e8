"""The README's quick start is what CI runs: keep the two in step."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _quick_start_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section)


def test_quick_start_has_exactly_two_commands():
    commands = _quick_start_commands()
    assert len(commands) == 2
    assert "gradfix apply examples/ --diff" in commands[0] and "gradfix verify examples/" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert _quick_start_commands()[1] in ci.splitlines()


def test_install_steps_pin_the_cpu_torch_but_the_package_does_not():
    for command in _quick_start_commands():
        assert "torch==2.13.0" in command
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert "torch==" not in pyproject
