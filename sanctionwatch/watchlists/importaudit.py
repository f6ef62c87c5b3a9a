"""List imports on the audit trail: who imported which file (SHA-256), dated how, and what
it added, removed and changed, by name; refused imports too, with the reasons.

A compliance officer asked "why did we stop matching X on 3 May?" must find the import that
de-listed X, the exact file it came from and the person who ran it. The records live in the
append-only ``audit_log`` (audit.py) with actions ``list.import`` and
``list.import-refused``; ``after`` holds the JSON document described in README ("Official
sanctions lists"). Only the first MAX_NAMES names of each kind are kept: the counts are exact,
and the full lists are in the file whose hash is recorded.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from sanctionwatch.errors import ImportRefused
from sanctionwatch.models import Entry
from sanctionwatch.storage.audit import Actor, audit
from sanctionwatch.storage.audit import ensure_schema as ensure_audit_schema
from sanctionwatch.watchlists.guard import ImportCheck
from sanctionwatch.watchlists.importers import ImportReport, SourceFile
from sanctionwatch.watchlists.importers.version import ListVersion

log = logging.getLogger(__name__)

IMPORT_ACTION = "list.import"
REFUSED_ACTION = "list.import-refused"
LIST_IMPORT_ACTIONS = (IMPORT_ACTION, REFUSED_ACTION)

# enough to read a normal week's changes in the log; the counts stay exact beyond it
MAX_NAMES = 50


def ensure_schema(db: sqlite_utils.Database) -> None:
    ensure_audit_schema(db)


def _names(entries: list[Entry]) -> list[str]:
    return [e.name for e in entries[:MAX_NAMES]]


def version_dict(version: ListVersion | None) -> dict[str, str] | None:
    if version is None:
        return None
    return {"kind": version.kind, "value": version.value, "label": version.label}


def stored_version(meta: dict[str, Any] | None) -> ListVersion | None:
    """The age marker of a stored list (an ``imported_lists`` row), None if it has none."""
    if meta is None or not meta.get("list_date_kind"):
        return None
    return ListVersion(meta["list_date_kind"], meta.get("list_date") or "")


def before_dict(meta: dict[str, Any] | None) -> dict[str, Any] | None:
    """The stored version (an ``imported_lists`` row) as the audit record's ``before``."""
    if meta is None:
        return None
    return {
        "version": meta["version"],
        "entry_count": meta["entry_count"],
        "source_file": meta["source_file"],
        "list_date": version_dict(stored_version(meta)),
        "files": json.loads(meta["files"]) if meta.get("files") else [],
    }


def files_list(files: tuple[SourceFile, ...]) -> list[dict[str, str]]:
    return [{"path": f.path, "sha256": f.sha256} for f in files]


def _diff_fields(
    added: list[Entry], removed: list[Entry], changed: list[tuple[Entry, Entry]]
) -> dict[str, Any]:
    return {
        "added": len(added),
        "removed": len(removed),
        "changed": len(changed),
        "added_names": _names(added),
        "removed_names": _names(removed),
        "changed_names": _names([new for _old, new in changed]),
    }


def record_import(
    db: sqlite_utils.Database, actor: Actor, report: ImportReport, before: dict[str, Any] | None
) -> None:
    """Audit a stored import; call inside the transaction that stores it."""
    after = {
        "outcome": "imported",
        "format": report.fmt,
        "files": files_list(report.files),
        "list_date": version_dict(report.list_version),
        "stored_before": report.stored_before,
        "total": report.total,
        "version": report.version,
        "forced": report.forced,
        "warnings": list(report.warnings),
        **_diff_fields(report.added, report.removed, report.changed),
    }
    audit(
        db,
        actor,
        IMPORT_ACTION,
        report.list_name,
        report.source_file,
        before,
        after,
        report.imported_at,
    )


def record_refused(
    db: sqlite_utils.Database,
    actor: Actor,
    refused: ImportRefused[ImportCheck],
    *,
    fmt: str,
    files: tuple[SourceFile, ...],
    diff: tuple[list[Entry], list[Entry], list[tuple[Entry, Entry]]],
    before: dict[str, Any] | None,
) -> None:
    """Audit a refused import (its own transaction: the import's was rolled back)."""
    check = refused.check
    after = {
        "outcome": "refused",
        "format": fmt,
        "files": files_list(files),
        "list_date": version_dict(check.new_version),
        "stored_before": check.stored,
        "total": check.in_file,
        "reasons": refused.reasons,
        **_diff_fields(*diff),
    }
    audit(
        db,
        actor,
        REFUSED_ACTION,
        check.list_name,
        check.source_file,
        before,
        after,
        datetime.now(UTC),
    )


def _loads(raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def decoded(row: dict[str, Any]) -> dict[str, Any]:
    """An audit row with ``before``/``after`` as JSON values instead of JSON strings."""
    return {**row, "before": _loads(row.get("before")), "after": _loads(row.get("after"))}


def describe(row: dict[str, Any]) -> list[str]:
    """Indented detail lines of a list-import record for ``watchlist log``."""
    after = _loads(row.get("after"))
    before = _loads(row.get("before"))
    if not isinstance(after, dict):
        return [f"    after: {row.get('after')}"]
    lines = []
    for f in after.get("files", []):
        lines.append(f"    file: {f['path']}  sha256 {f['sha256']}")
    date = (after.get("list_date") or {}).get("label", "no date")
    was = (before or {}).get("list_date") if isinstance(before, dict) else None
    lines.append(f"    list date: {date}" + (f" (stored: {was['label']})" if was else ""))
    total = f"{after.get('total', 0):,} entries in the file, {after.get('stored_before', 0):,}"
    lines.append(
        f"    +{after.get('added', 0):,} added, -{after.get('removed', 0):,} removed, "
        f"~{after.get('changed', 0):,} changed ({total} stored before"
        + (", forced" if after.get("forced") else "")
        + ")"
    )
    for reason in after.get("reasons", []):
        lines.append(f"    refused: {reason}")
    for kind in ("added", "removed", "changed"):
        names = after.get(f"{kind}_names") or []
        if names:
            more = after.get(kind, 0) - len(names)
            tail = f" … and {more:,} more" if more > 0 else ""
            lines.append(f"    {kind}: {'; '.join(names)}{tail}")
    return lines
