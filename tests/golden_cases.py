"""The golden cases: golden/<CODE>-<slug>/<case>/{before.py, after.py, case.toml}.

``after.py`` is the exact expected rewrite; without it the case must stay byte-for-byte
unchanged. ``case.toml`` keys: ``description`` (required), ``unsafe_fixes`` (apply unsafe
fixes too), ``report_only`` (the rule reports the code but offers no fix), ``verdict``
(what ``gradfix verify before.py`` must conclude, for runnable cases).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

GOLDEN = Path(__file__).resolve().parent.parent / "golden"


@dataclass
class GoldenCase:
    code: str
    folder: Path
    before: str
    after: str | None
    description: str
    unsafe_fixes: bool
    report_only: bool
    verdict: str | None

    @property
    def id(self) -> str:
        return f"{self.folder.parent.name}/{self.folder.name}"

    @property
    def expected(self) -> str:
        return self.after if self.after is not None else self.before


def _read(path: Path) -> str:
    with open(path, encoding="utf-8", newline="") as handle:
        return handle.read()


def load_cases() -> list[GoldenCase]:
    cases = []
    for before in sorted(GOLDEN.glob("*/*/before.py")):
        folder = before.parent
        meta = tomllib.loads(_read(folder / "case.toml")) if (folder / "case.toml").exists() else {}
        after = folder / "after.py"
        cases.append(
            GoldenCase(
                code=folder.parent.name.split("-", 1)[0],
                folder=folder,
                before=_read(before),
                after=_read(after) if after.exists() else None,
                description=meta.get("description", ""),
                unsafe_fixes=bool(meta.get("unsafe_fixes", False)),
                report_only=bool(meta.get("report_only", False)),
                verdict=meta.get("verdict"),
            )
        )
    return cases
