"""The corpus round trip on a small slice of real code (skipped when the corpus is not built).

The full run is ``python benchmarks/corpus_roundtrip.py``; this keeps the default test run
fast while still catching a crash or a changed byte on real files.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

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


@pytest.mark.skipif(
    not os.path.isdir(CORPUS),
    reason=f"no corpus at {CORPUS}: build it with `bash shared/corpus/make_corpus.sh` (or set GRADFIX_CORPUS)",
)
def test_round_trip_on_a_slice_of_the_corpus(tmp_path):
    report = roundtrip.run(CORPUS, limit=SLICE, workdir=str(tmp_path))
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
