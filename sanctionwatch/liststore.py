"""Imported official lists in SQLite: one version per list, replaced atomically.

Tables (created idempotently by ``ensure_schema``):
- ``imported_lists(name PK, fmt, source_file, imported_at, entry_count, version)``
- ``imported_entries(list, entry_id PK, name, type, aliases JSON, tags JSON, source, source_id,
  programs JSON, notes, fingerprint, strict)`` — ``strict`` is an addition to the brief's
  column list so Entry.strict (aircraft registration marks) survives a round trip.

``replace_list`` swaps a list's entries, bumps its version and reports what changed in one
transaction; a broken or suspiciously short list leaves the stored version untouched.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from .errors import ImportFormatError
from .importers import DEFAULT_LIST_NAMES, ImportReport, check_format, parse_list
from .models import Entry

log = logging.getLogger(__name__)

# A new version with fewer than this share of the previous entry count is refused unless
# forced: real lists change by a few percent per week (OFAC 2024-04-26 → 05-03: +2 %), while
# a failed or cut-off download typically loses most of the file.
DEFAULT_MIN_RATIO = 0.5

_SAVEPOINT = "sanctionwatch_liststore"

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS imported_lists (
        name TEXT PRIMARY KEY,
        fmt TEXT NOT NULL,
        source_file TEXT NOT NULL,
        imported_at TEXT NOT NULL,
        entry_count INTEGER NOT NULL,
        version INTEGER NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS imported_entries (
        list TEXT NOT NULL,
        entry_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        type TEXT NOT NULL,
        aliases TEXT NOT NULL,
        tags TEXT NOT NULL,
        source TEXT NOT NULL,
        source_id TEXT NOT NULL,
        programs TEXT NOT NULL,
        notes TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        strict INTEGER NOT NULL DEFAULT 0
    )""",
    "CREATE INDEX IF NOT EXISTS imported_entries_list ON imported_entries (list, entry_id)",
)

_COLUMNS = (
    "list, entry_id, name, type, aliases, tags, source, source_id, programs, notes, "
    "fingerprint, strict"
)


def ensure_schema(db: sqlite_utils.Database) -> None:
    """Create the imported-list tables if they are missing (safe to call at any time)."""
    for statement in _SCHEMA:
        db.conn.execute(statement)


@contextmanager
def _transaction(db: sqlite_utils.Database) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE … COMMIT, or a savepoint when the caller already holds a transaction."""
    conn = db.conn
    if conn.in_transaction:
        conn.execute(f"SAVEPOINT {_SAVEPOINT}")
        try:
            yield conn
        except BaseException:
            conn.execute(f"ROLLBACK TO {_SAVEPOINT}")
            conn.execute(f"RELEASE {_SAVEPOINT}")
            raise
        conn.execute(f"RELEASE {_SAVEPOINT}")
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def fingerprint(entry: Entry) -> str:
    """Hash of everything an analyst would see change in an entry (not its id or list)."""
    content = [
        entry.name,
        entry.type,
        list(entry.aliases),
        list(entry.tags),
        entry.source,
        entry.source_id,
        list(entry.programs),
        entry.notes,
        entry.strict,
    ]
    raw = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]


def _row(entry: Entry, list_name: str) -> tuple[Any, ...]:
    return (
        list_name,
        entry.id,
        entry.name,
        entry.type,
        json.dumps(list(entry.aliases), ensure_ascii=False),
        json.dumps(list(entry.tags), ensure_ascii=False),
        entry.source,
        entry.source_id,
        json.dumps(list(entry.programs), ensure_ascii=False),
        entry.notes,
        fingerprint(entry),
        int(entry.strict),
    )


def _entry(row: Sequence[Any]) -> Entry:
    (
        list_name,
        entry_id,
        name,
        etype,
        aliases,
        tags,
        source,
        source_id,
        programs,
        notes,
        _fp,
        strict,
    ) = row
    return Entry(
        id=entry_id,
        name=name,
        type=etype,
        list=list_name,
        aliases=tuple(json.loads(aliases)),
        tags=tuple(json.loads(tags)),
        source=source,
        source_id=source_id,
        programs=tuple(json.loads(programs)),
        notes=notes,
        strict=bool(strict),
        curated=False,
    )


def _stored(conn: sqlite3.Connection, list_name: str) -> dict[str, tuple[str, Sequence[Any]]]:
    """entry_id → (fingerprint, row) of the stored version of one list."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM imported_entries WHERE list = ?", [list_name]
    ).fetchall()
    return {r[1]: (r[10], r) for r in rows}


def replace_list(
    db: sqlite_utils.Database,
    entries: Sequence[Entry],
    *,
    list_name: str,
    fmt: str,
    source_file: str,
    min_ratio: float = DEFAULT_MIN_RATIO,
    force: bool = False,
) -> ImportReport:
    """Store ``entries`` as the new version of ``list_name`` and report the differences."""
    ensure_schema(db)
    counts = Counter(e.id for e in entries)
    if len(counts) != len(entries):
        dupes = sorted(i for i, n in counts.items() if n > 1)[:5]
        raise ImportFormatError(
            f"{source_file}: duplicate entry ids {', '.join(dupes)} (list {list_name})",
            hint="each entry of an imported list needs its own id",
        )
    if not entries and not force:
        raise ImportFormatError(
            f"{source_file}: no entries to import for list {list_name}",
            hint="re-run with --force to empty the list on purpose",
        )
    now = datetime.now(UTC)
    new_rows = [_row(e, list_name) for e in entries]
    with _transaction(db) as conn:
        previous = _stored(conn, list_name)
        meta = conn.execute(
            "SELECT version FROM imported_lists WHERE name = ?", [list_name]
        ).fetchone()
        if previous and len(entries) < min_ratio * len(previous) and not force:
            raise ImportFormatError(
                f"{source_file}: {len(entries):,} entries vs {len(previous):,} before — looks "
                f"truncated; re-run with --force if this is real (list {list_name})",
                hint="the previous version of the list stays in use",
            )
        conn.execute("DELETE FROM imported_entries WHERE list = ?", [list_name])
        try:
            conn.executemany(
                f"INSERT INTO imported_entries ({_COLUMNS}) VALUES "
                f"(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                new_rows,
            )
        except sqlite3.IntegrityError as exc:
            raise ImportFormatError(
                f"{source_file}: an entry id of list {list_name} already belongs to another "
                f"imported list ({exc})",
                hint="import each list under its own name",
            ) from exc
        version = (meta[0] if meta else 0) + 1
        conn.execute(
            "INSERT OR REPLACE INTO imported_lists "
            "(name, fmt, source_file, imported_at, entry_count, version) VALUES (?, ?, ?, ?, ?, ?)",
            [list_name, fmt, source_file, now.isoformat(timespec="seconds"), len(entries), version],
        )
    new_by_id = {e.id: e for e in entries}
    added = [e for e in entries if e.id not in previous]
    removed = [_entry(row) for eid, (_fp, row) in previous.items() if eid not in new_by_id]
    changed = [
        (_entry(previous[r[1]][1]), new_by_id[r[1]])
        for r in new_rows
        if r[1] in previous and previous[r[1]][0] != r[10]
    ]
    report = ImportReport(
        list_name=list_name,
        fmt=fmt,
        source_file=source_file,
        total=len(entries),
        added=added,
        removed=removed,
        changed=changed,
        imported_at=now,
    )
    log.info(
        "imported list list=%s fmt=%s file=%s version=%d total=%d added=%d removed=%d changed=%d",
        list_name,
        fmt,
        source_file,
        version,
        report.total,
        len(added),
        len(removed),
        len(changed),
    )
    return report


def load_imported(db: sqlite_utils.Database) -> list[Entry]:
    """Every imported entry, ordered by list then id."""
    ensure_schema(db)
    rows = db.conn.execute(
        f"SELECT {_COLUMNS} FROM imported_entries ORDER BY list, entry_id"
    ).fetchall()
    return [_entry(r) for r in rows]


def list_imported(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """One dict per imported list: name, fmt, source_file, imported_at, entry_count, version."""
    ensure_schema(db)
    cursor = db.conn.execute(
        "SELECT name, fmt, source_file, imported_at, entry_count, version "
        "FROM imported_lists ORDER BY name"
    )
    keys = [d[0] for d in cursor.description]
    return [dict(zip(keys, row, strict=True)) for row in cursor.fetchall()]


def import_list(
    db: sqlite_utils.Database,
    fmt: str,
    path: Path,
    list_name: str | None = None,
    *,
    force: bool = False,
) -> ImportReport:
    """Parse ``path`` as ``fmt`` and store it; default list names: ofac-sdn, un, opensanctions."""
    check_format(fmt)
    name = list_name or DEFAULT_LIST_NAMES[fmt]
    entries = parse_list(fmt, Path(path), name)
    return replace_list(db, entries, list_name=name, fmt=fmt, source_file=str(path), force=force)
