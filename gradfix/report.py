"""Output formats for findings: text (ruff's concise lines), json, sarif, github."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Sequence

from gradfix import __version__
from gradfix.engine import Diagnostic, FileResult

FORMATS = ("text", "json", "sarif", "github")


def diagnostic_line(path: str, d: Diagnostic, show_fix_marker: bool = True) -> str:
    marker = " [*]" if show_fix_marker and d.fix_applicability == "safe" else ""
    where = f"{path}:cell {d.cell}" if d.cell is not None else path
    line = f"{where}:{d.line}:{d.column}: {d.code}{marker} {d.message}"
    if d.note:
        line += f" ({d.note})"
    return line


def error_line(result: FileResult) -> str:
    """A file that could not be checked: ``path:line:col: error: message`` where the error is
    a place in the source (``path:cell N:line:col`` in a notebook), else ``gradfix: error: path: message``."""
    at = result.error_at
    if at is None:
        return f"gradfix: error: {result.path}: {result.error}"
    where = f"{result.path}:cell {at.cell}" if at.cell is not None else result.path
    return f"{where}:{at.line}:{at.column}: error: {result.error}"


def _error_location(result: FileResult) -> dict:
    at = result.error_at
    if at is None:
        return {}
    location = {"location": {"row": at.line, "column": at.column}}
    if at.cell is not None:
        location["cell"] = at.cell
    return location


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def text_summary(results: Sequence[FileResult], applied: bool, unsafe_fixes: bool) -> str:
    remaining = [d for r in results for d in r.diagnostics]
    fixed = sum(len(r.fixed) for r in results)
    errors = sum(1 for r in results if r.error)
    parts = []
    if applied:
        files = sum(1 for r in results if r.new_source is not None)
        if fixed:
            parts.append(f"Fixed {_plural(fixed, 'finding')} in {_plural(files, 'file')}.")
    if remaining:
        safe = sum(1 for d in remaining if d.fix_applicability == "safe")
        unsafe = sum(1 for d in remaining if d.fix_applicability == "unsafe")
        line = f"Found {_plural(len(remaining), 'finding')}" + (" remaining" if applied else "")
        notes = []
        if safe and not applied:
            notes.append(f"{safe} fixable with `gradfix apply`")
        if unsafe and not unsafe_fixes:
            notes.append(f"{unsafe} more with `gradfix apply --unsafe-fixes`")
        line += f" ({', '.join(notes)})." if notes else "."
        parts.append(line)
    elif not errors and not (applied and fixed):
        parts.append("All checks passed!")
    if errors:
        parts.append(f"{_plural(errors, 'file')} could not be checked.")
    return "\n".join(parts)


def json_report(results: Sequence[FileResult]) -> str:
    records = []
    for result in results:
        for d in result.diagnostics:
            record = asdict(d)
            record["filename"] = result.path
            record["fix"] = (
                {"applicability": d.fix_applicability, "message": d.fix_description} if d.fix_applicability else None
            )
            del record["fix_applicability"], record["fix_description"]
            records.append(record)
        if result.error:
            records.append({"filename": result.path, "code": None, "error": result.error, **_error_location(result)})
    return json.dumps(records, indent=2, ensure_ascii=False)


def github_report(results: Sequence[FileResult]) -> str:
    lines = []
    for result in results:
        for d in result.diagnostics:
            lines.append(
                f"::error title=gradfix ({d.code}),file={result.path},line={d.line},col={d.column},"
                f"endLine={d.end_line},endColumn={d.end_column}::{diagnostic_line(result.path, d, False)}"
            )
        if result.error:
            at = result.error_at
            place = f",line={at.line},col={at.column}" if at is not None and at.cell is None else ""
            lines.append(f"::error title=gradfix,file={result.path}{place}::{error_line(result)}")
    return "\n".join(lines)


def sarif_report(results: Sequence[FileResult], rules: Sequence[type]) -> str:
    sarif_rules = [
        {
            "id": rule.code,
            "name": rule.name,
            "shortDescription": {"text": rule.summary},
            "fullDescription": {"text": rule.explanation()},
        }
        for rule in rules
    ]
    sarif_results = []
    for result in results:
        for d in result.diagnostics:
            sarif_results.append(
                {
                    "ruleId": d.code,
                    "level": "error",
                    "message": {"text": d.message},
                    "locations": [
                        {
                            "physicalLocation": {
                                "artifactLocation": {"uri": result.path.replace("\\", "/")},
                                "region": {
                                    "startLine": d.line,
                                    "startColumn": d.column,
                                    "endLine": d.end_line,
                                    "endColumn": d.end_column,
                                },
                            }
                        }
                    ],
                }
            )
    document = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "gradfix", "version": __version__, "rules": sarif_rules}},
                "results": sarif_results,
            }
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)
