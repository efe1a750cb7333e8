"""Which files a run covers: ruff's walk (skips VCS/venv/cache/build folders, honours .gitignore)."""

from __future__ import annotations

import os

import pytest

from cli_runner import put
from gradfix.discovery import DiscoveryError, find_files


def names(found, root):
    return [os.path.relpath(p, root).replace(os.sep, "/") for p in found]


def test_walk_skips_vcs_venv_cache_and_build_folders(tmp_path):
    for name in ["a.py", "types.pyi", "nb.ipynb", "notes.txt", "setup.cfg",
                 ".git/hooks/x.py", "__pycache__/a.py", "build/lib/a.py", "dist/a.py", "node_modules/a.py",
                 ".tox/py/a.py", ".venv/lib/a.py", "site-packages/a.py", "pkg/mod.py", "pkg/sub/deep.py"]:
        put(tmp_path, name, "x = 1\n")
    put(tmp_path, "myenv/pyvenv.cfg", "home = /usr\n")  # a virtualenv under any name
    put(tmp_path, "myenv/lib/a.py", "x = 1\n")
    assert names(find_files([str(tmp_path)]), tmp_path) == ["a.py", "nb.ipynb", "pkg/mod.py", "pkg/sub/deep.py", "types.pyi"]


def test_nested_gitignore_files_are_honoured(tmp_path):
    (tmp_path / ".git").mkdir()
    put(tmp_path, ".gitignore", "/local/\n*.gen.py\n")
    put(tmp_path, "pkg/.gitignore", "generated_*.py\n!generated_keep.py\n")
    for name in ["local/a.py", "pkg/local/b.py", "x.gen.py", "pkg/generated_a.py", "pkg/generated_keep.py",
                 "pkg/mod.py", "other/generated_c.py"]:
        put(tmp_path, name, "x = 1\n")
    assert names(find_files([str(tmp_path)]), tmp_path) == [
        "other/generated_c.py", "pkg/generated_keep.py", "pkg/local/b.py", "pkg/mod.py",
    ]
    # Walking a sub-folder still honours the .gitignore files above it, up to the repository root.
    assert names(find_files([str(tmp_path / "pkg")]), tmp_path) == ["pkg/generated_keep.py", "pkg/local/b.py", "pkg/mod.py"]
    assert find_files([str(tmp_path)], respect_gitignore=False).__len__() == 7


def test_gitignore_above_the_repository_root_is_not_read(tmp_path):
    put(tmp_path, ".gitignore", "*.py\n")
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    put(repo, "a.py", "x = 1\n")
    assert names(find_files([str(repo)]), repo) == ["a.py"]


def test_named_files_are_always_checked(tmp_path):
    put(tmp_path, ".gitignore", "ignored.py\n")
    (tmp_path / ".git").mkdir()
    path = put(tmp_path, "ignored.py", "x = 1\n")
    other = put(tmp_path, "script", "x = 1\n")  # any name, when named explicitly
    assert find_files([str(path), str(other)]) == sorted([str(path), str(other)])


def test_links_are_not_followed_and_duplicates_are_dropped(tmp_path):
    real = put(tmp_path, "real/a.py", "x = 1\n")
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "link.py").symlink_to(real)
    (tmp_path / "tree" / "linkdir").symlink_to(tmp_path / "real")
    assert find_files([str(tmp_path / "tree")]) == []
    assert find_files([str(real), str(tmp_path / "real"), str(real)]) == [str(real)]
    with pytest.raises(DiscoveryError, match="symbolic link to a directory"):
        find_files([str(tmp_path / "tree" / "linkdir")])


def test_extra_excludes_and_missing_paths(tmp_path):
    put(tmp_path, "keep.py", "x = 1\n")
    put(tmp_path, "third_party/a.py", "x = 1\n")
    put(tmp_path, "proto_pb2.py", "x = 1\n")
    assert names(find_files([str(tmp_path)], ("third_party", "*_pb2.py")), tmp_path) == ["keep.py"]
    with pytest.raises(DiscoveryError, match="no such file or directory"):
        find_files([str(tmp_path / "missing")])


def test_gitignore_above_a_folder_outside_any_repository_is_not_read(tmp_path):
    put(tmp_path, ".gitignore", "*\n")  # e.g. a home folder's stray .gitignore
    put(tmp_path, "project/a.py", "x = 1\n")
    assert names(find_files([str(tmp_path / "project")]), tmp_path) == ["project/a.py"]
