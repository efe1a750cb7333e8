import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pytest  # noqa: E402


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """A project folder, made the current folder, with no configuration above it."""
    project = tmp_path / "proj"
    project.mkdir()
    monkeypatch.chdir(project)
    return project
