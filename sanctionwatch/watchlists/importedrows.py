"""The row layout of ``imported_entries``: an `Entry` to a row and back, and its fingerprint.

One place knows the column order, so the import (`imported.replace_list`), the loader the
matcher reads (`imported.load_imported`) and the change report (which compares fingerprints
of the stored and the new version) can never disagree about it.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from sanctionwatch.errors import ImportFormatError
from sanctionwatch.models import Entry

COLUMNS = (
    "list, entry_id, name, type, aliases, tags, source, source_id, programs, notes, "
    "fingerprint, strict"
)


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


def to_row(entry: Entry, list_name: str) -> tuple[Any, ...]:
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


def from_row(row: Sequence[Any]) -> Entry:
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


def stored_rows(conn: sqlite3.Connection, list_name: str) -> dict[str, tuple[str, Sequence[Any]]]:
    """entry_id → (fingerprint, row) of the stored version of one list."""
    rows = conn.execute(
        f"SELECT {COLUMNS} FROM imported_entries WHERE list = ?", [list_name]
    ).fetchall()
    return {r[1]: (r[10], r) for r in rows}


def list_meta(conn: sqlite3.Connection, list_name: str) -> dict[str, Any] | None:
    cursor = conn.execute(
        "SELECT version, entry_count, source_file, list_date_kind, list_date, files "
        "FROM imported_lists WHERE name = ?",
        [list_name],
    )
    row = cursor.fetchone()
    if row is None:
        return None
    return dict(zip([d[0] for d in cursor.description], row, strict=True))


def write_rows(
    conn: sqlite3.Connection, list_name: str, source_file: str, new_rows: list[tuple[Any, ...]]
) -> None:
    conn.execute("DELETE FROM imported_entries WHERE list = ?", [list_name])
    try:
        conn.executemany(
            f"INSERT INTO imported_entries ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            new_rows,
        )
    except sqlite3.IntegrityError as exc:
        raise ImportFormatError(
            f"{source_file}: an entry id of list {list_name} already belongs to another imported list ({exc})",
            hint="import each list under its own name",
        ) from exc


__all__ = [
    "COLUMNS",
    "fingerprint",
    "from_row",
    "list_meta",
    "stored_rows",
    "to_row",
    "write_rows",
]
