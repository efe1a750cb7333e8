"""The corpus round trip on a small slice of real code.

The full run is ``python benchmarks/corpus_roundtrip.py``; this keeps the default test run
fast while still catching a crash or a changed byte on real files. It uses the full corpus
when one is built (``$GRADFIX_CORPUS``), else builds a two-package slice of it
(``corpus_slice.py``); it skips only when the package registry cannot be reached or the
corpus script is not there to read the pinned versions from.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

import corpus_slice

SLICE = 8
_SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "corpus_roundtrip.py"


def _roundtrip():
    spec = importlib.util.spec_from_file_location("corpus_roundtrip", _SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


roundtrip = _roundtrip()
CORPUS = roundtrip.default_corpus()


@pytest.fixture(scope="module")
def real_code() -> str:
    """The built corpus, or else a slice of it made now (downloads two small wheels once)."""
    if os.path.isdir(CORPUS):
        return CORPUS
    script = corpus_slice.corpus_script()
    if not script.is_file():
        pytest.skip(f"no corpus at {CORPUS} and no corpus script at {script} to build a slice from "
                    "(set GRADFIX_CORPUS or GRADFIX_CORPUS_SCRIPT)")
    try:
        return corpus_slice.build_slice(CORPUS, script)
    except corpus_slice.RegistryUnreachable as exc:
        pytest.skip(str(exc))


def test_round_trip_on_a_slice_of_the_corpus(real_code, tmp_path):
    report = roundtrip.run(real_code, limit=SLICE, workdir=str(tmp_path))
    assert report.files == SLICE
    assert report.failures == []


def test_slices_are_spread_and_stable(tmp_path):
    for package in ("a-1", "b-2"):
        for i in range(10):
            (tmp_path / package).mkdir(exist_ok=True)
            (tmp_path / package / f"m{i}.py").write_text("x = 1\n")
    (tmp_path / "a-1" / "notes.txt").write_text("")
    chosen = roundtrip.corpus_files(str(tmp_path), limit=4)
    assert chosen == roundtrip.corpus_files(str(tmp_path), limit=4)
    assert {c.split(os.sep)[0] for c in chosen} == {"a-1", "b-2"} and len(chosen) == 4
    assert len(roundtrip.corpus_files(str(tmp_path))) == 20


def test_round_trip_on_a_built_corpus_with_a_finding(tmp_path):
    from sources import BAD, CLEAN, FIXED

    corpus = tmp_path / "corpus-src"
    (corpus / "pkg-1.0").mkdir(parents=True)
    (corpus / "pkg-1.0" / "bad.py").write_text(BAD)
    (corpus / "pkg-1.0" / "ok.py").write_text(CLEAN)
    report = roundtrip.run(str(corpus), workdir=str(tmp_path))
    assert report.failures == []
    assert report.changed == [os.path.join("pkg-1.0", "bad.py")]
    assert report.per_rule() == {"GF101": (1, 1)}
    assert "+" + FIXED.splitlines()[3] in report.diffs[report.changed[0]]
    assert (corpus / "pkg-1.0" / "bad.py").read_text() == BAD  # the corpus itself is never written


def test_slice_pins_are_read_from_the_corpus_script():
    script = "X=1\nPACKAGES=(\n  peft==0.21.2\n  pytorch-lightning==2.6.6  # comment\n)\nOTHER=(\n  a==1\n)\n"
    assert corpus_slice.pinned_packages(script) == {"peft": "0.21.2", "pytorch-lightning": "2.6.6"}
    with pytest.raises(ValueError):
        corpus_slice.pinned_packages("PINS=(a==1)\n")


def test_slice_reuses_a_downloaded_wheel_and_keeps_only_sources(tmp_path, monkeypatch):
    import zipfile

    script = tmp_path / "make_corpus.sh"
    script.write_text("PACKAGES=(\n  tiny-pkg==1.0\n)\n")
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    with zipfile.ZipFile(wheels / "tiny_pkg-1.0-py3-none-any.whl", "w") as wheel:
        wheel.writestr("tiny_pkg/__init__.py", "x = 1\n")
        wheel.writestr("tiny_pkg/data.json", "{}")
        wheel.writestr("tiny_pkg-1.0.dist-info/METADATA", "Name: tiny-pkg\n")
    monkeypatch.setenv("GRADFIX_WHEELS", str(wheels))
    monkeypatch.setenv("GRADFIX_PIP", "false")  # any download attempt would fail
    built = corpus_slice.build_slice(str(tmp_path / "corpus"), script, names=("tiny-pkg",))
    assert built == str(tmp_path / "corpus-slice")
    assert roundtrip.corpus_files(built) == [os.path.join("tiny-pkg-1.0", "tiny_pkg", "__init__.py")]
    assert sorted(os.listdir(tmp_path)) == ["corpus-slice", "make_corpus.sh", "wheels"]  # no partial folder left


def test_slice_skip_reason_names_an_unreachable_registry_in_one_line(tmp_path, monkeypatch):
    script = tmp_path / "make_corpus.sh"
    script.write_text("PACKAGES=(\n  accelerate==1.15.0\n)\n")
    for name in ("PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL", "GRADFIX_PIP"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # no configured mirror or local wheel folder
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")  # the discard port: refused
    monkeypatch.setenv("GRADFIX_WHEELS", str(tmp_path / "wheels"))
    with pytest.raises(corpus_slice.RegistryUnreachable) as caught:
        corpus_slice.build_slice(str(tmp_path / "corpus"), script, names=("accelerate",))
    message = str(caught.value)
    assert message.startswith("package registry unreachable: pip could not download accelerate==1.15.0")
    assert "\n" not in message
    assert not os.listdir(tmp_path / "wheels")
