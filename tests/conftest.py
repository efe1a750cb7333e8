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


def pytest_addoption(parser):
    parser.addoption(
        "--verify-all", action="store_true", default=False,
        help="run the real verifier on every runnable golden case (default: the first case of each rule)",
    )


@pytest.fixture(autouse=True, scope="session")
def _cache_outside_the_repository(tmp_path_factory):
    """`gradfix check` caches results in ./.gradfix_cache by default; keep the tests' cache in a temporary folder."""
    import os

    os.environ["GRADFIX_CACHE_DIR"] = str(tmp_path_factory.mktemp("gradfix-cache"))
    yield
