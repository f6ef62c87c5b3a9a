"""Imported official lists in SQLite: one version per list, replaced atomically.

Tables (defined in storage/schema.py, migration v3):
- ``imported_lists(name PK, fmt, source_file, imported_at, entry_count, version)``
- ``imported_entries(list, entry_id PK, name, type, aliases JSON, tags JSON, source, source_id,
  programs JSON, notes, fingerprint, strict)`` — ``strict`` is an addition to the brief's
  column list so Entry.strict (aircraft registration marks) survives a round trip.

``imported_lists`` also keeps the list's own age marker (``list_date_kind``, ``list_date``:
see importers/version.py) and the ``files`` read with their SHA-256 (JSON).

``replace_list`` swaps a list's entries, bumps its version, audits the import and reports what
changed in one transaction; a broken, cut-off or older list leaves the stored version untouched
(guard.py) and the refusal is audited. The row layout of ``imported_entries`` is
`importedrows`.
"""

from __future__ import annotations

import getpass
import json
import logging
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from sanctionwatch.errors import ImportFormatError, ImportRefused
from sanctionwatch.matching.engine import EntrySource
from sanctionwatch.models import Entry
from sanctionwatch.storage.audit import Actor
from sanctionwatch.storage.schema import IMPORTED_LISTS_TABLE, create_imported_list_tables
from sanctionwatch.watchlists import importaudit as listaudit
from sanctionwatch.watchlists.guard import ImportCheck, refusal
from sanctionwatch.watchlists.importedrows import (
    COLUMNS,
    from_row,
    list_meta,
    stored_rows,
    to_row,
    write_rows,
)
from sanctionwatch.watchlists.importers import (
    DEFAULT_LIST_NAMES,
    ImportReport,
    ListVersion,
    SourceFile,
    check_format,
    read_list,
)
from sanctionwatch.watchlists.importers.version import NO_DATE

log = logging.getLogger(__name__)

# A new version with fewer than this share of the previous entry count is refused unless
# forced: real lists change by a few percent per week (OFAC 2024-04-26 → 05-03: +2 %), while
# a failed or cut-off download typically loses most of the file.
DEFAULT_MIN_RATIO = 0.5
# The most a re-import may de-list without --force, as a share of the stored entries; the
# same default as Settings.max_delist_fraction (the CLI passes the configured value).
DEFAULT_MAX_DELIST_FRACTION = 0.05

_SAVEPOINT = "sanctionwatch_liststore"


def ensure_schema(db: sqlite_utils.Database) -> None:
    """The imported-list tables, for a database that did not come through ``Store`` (tools,
    tests); ``Store`` creates them in its migrations. Safe to call at any time."""
    create_imported_list_tables(db)


def default_actor() -> Actor:
    """Who an import is audited as when the caller names nobody: the local user."""
    user = getpass.getuser()
    return Actor(user, user, "cli")


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


def replace_list(
    db: sqlite_utils.Database,
    entries: Sequence[Entry],
    *,
    list_name: str,
    fmt: str,
    source_file: str,
    min_ratio: float = DEFAULT_MIN_RATIO,
    force: bool = False,
    max_delist_fraction: float = DEFAULT_MAX_DELIST_FRACTION,
    list_version: ListVersion | None = None,
    files: tuple[SourceFile, ...] = (),
    warnings: tuple[str, ...] = (),
    actor: Actor | None = None,
) -> ImportReport:
    """Store ``entries`` as the new version of ``list_name`` and report the differences.

    Refused (ImportRefused, nothing changed, the refusal audited) without ``force`` when it
    would de-list too much or the file is older than the stored list (guard.py). Every
    stored import is audited in the same transaction (listaudit.py)."""
    ensure_schema(db)
    actor = actor or default_actor()
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
    version_marker = list_version or ListVersion(NO_DATE, note="not given")
    now = datetime.now(UTC)
    new_rows = [to_row(e, list_name) for e in entries]
    new_by_id = {e.id: e for e in entries}
    meta: dict[str, Any] | None = None
    diff: tuple[list[Entry], list[Entry], list[tuple[Entry, Entry]]] = ([], [], [])
    try:
        with _transaction(db) as conn:
            previous = stored_rows(conn, list_name)
            meta = list_meta(conn, list_name)
            diff = (
                [e for e in entries if e.id not in previous],
                [from_row(row) for eid, (_fp, row) in previous.items() if eid not in new_by_id],
                [
                    (from_row(previous[r[1]][1]), new_by_id[r[1]])
                    for r in new_rows
                    if r[1] in previous and previous[r[1]][0] != r[10]
                ],
            )
            check = ImportCheck(
                list_name=list_name,
                source_file=source_file,
                stored=len(previous),
                in_file=len(entries),
                would_remove=len(diff[1]),
                new_version=version_marker,
                stored_version=listaudit.stored_version(meta),
            )
            refused = refusal(
                check,
                max_delist_fraction=max_delist_fraction,
                min_ratio=min_ratio,
                warnings=warnings,
            )
            if refused is not None and not force:
                raise refused
            write_rows(conn, list_name, source_file, new_rows)
            version = (meta["version"] if meta else 0) + 1
            conn.execute(
                "INSERT OR REPLACE INTO imported_lists (name, fmt, source_file, imported_at, "
                "entry_count, version, list_date_kind, list_date, files) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    list_name,
                    fmt,
                    source_file,
                    now.isoformat(timespec="seconds"),
                    len(entries),
                    version,
                    version_marker.kind,
                    version_marker.value,
                    json.dumps(listaudit.files_list(files)),
                ],
            )
            report = ImportReport(
                list_name=list_name,
                fmt=fmt,
                source_file=source_file,
                total=len(entries),
                added=diff[0],
                removed=diff[1],
                changed=diff[2],
                imported_at=now,
                list_version=version_marker,
                files=files,
                stored_before=len(previous),
                version=version,
                forced=force and refused is not None,
                warnings=warnings,
            )
            listaudit.record_import(db, actor, report, listaudit.before_dict(meta))
    except ImportRefused as exc:
        with _transaction(db):
            listaudit.record_refused(
                db, actor, exc, fmt=fmt, files=files, diff=diff, before=listaudit.before_dict(meta)
            )
        raise
    log.info(
        "imported list list=%s fmt=%s file=%s version=%d total=%d added=%d removed=%d "
        "changed=%d list_date=%r forced=%s",
        list_name,
        fmt,
        source_file,
        version,
        report.total,
        len(report.added),
        len(report.removed),
        len(report.changed),
        version_marker.label,
        report.forced,
    )
    return report


def load_imported(db: sqlite_utils.Database) -> list[Entry]:
    """Every imported entry, ordered by list then id."""
    ensure_schema(db)
    rows = db.conn.execute(
        f"SELECT {COLUMNS} FROM imported_entries ORDER BY list, entry_id"
    ).fetchall()
    return [from_row(r) for r in rows]


def list_imported(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """One dict per imported list: name, fmt, source_file, imported_at, entry_count, version,
    list_date_kind, list_date (the list's own age marker), files (JSON: path, sha256)."""
    ensure_schema(db)
    cursor = db.conn.execute(
        "SELECT name, fmt, source_file, imported_at, entry_count, version, list_date_kind, "
        "list_date, files FROM imported_lists ORDER BY name"
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
    max_delist_fraction: float = DEFAULT_MAX_DELIST_FRACTION,
    actor: Actor | None = None,
    progress: Callable[[str], None] | None = None,
    source_label: str | None = None,
) -> ImportReport:
    """Parse ``path`` as ``fmt`` and store it; default list names: ofac-sdn, un, opensanctions.

    ``progress`` is told each phase (parsing, storing), for the CLI's terminal line.
    ``source_label`` is the name recorded for the file instead of ``path`` (``-`` for a
    file read from stdin and spooled to a temporary path)."""
    check_format(fmt)
    name = list_name or DEFAULT_LIST_NAMES[fmt]
    label = source_label or str(path)
    if progress is not None:
        progress(f"parsing {label}{_size(path)}")
    try:
        parsed = read_list(fmt, Path(path), name)
    except ImportFormatError as exc:
        if label == str(path):
            raise
        # a spooled file's temporary path means nothing to the user: name what they gave
        raise ImportFormatError(exc.message.replace(str(path), label), hint=exc.hint) from exc
    if progress is not None:
        progress(f"parsed {len(parsed.entries):,} entries; comparing and storing")
    return replace_list(
        db,
        parsed.entries,
        list_name=name,
        fmt=fmt,
        source_file=label,
        force=force,
        max_delist_fraction=max_delist_fraction,
        list_version=parsed.version,
        files=tuple(
            SourceFile(label if f.path == str(path) else f.path, f.sha256) for f in parsed.files
        ),
        warnings=parsed.warnings,
        actor=actor,
    )


def _size(path: Path) -> str:
    try:
        return f" ({Path(path).stat().st_size / 1e6:.1f} MB)"
    except OSError:  # read_list says what is wrong with the path
        return ""


def _fingerprint(db: sqlite_utils.Database | None) -> str:
    """Changes whenever an official list is (re)imported: names and version counters."""
    if db is None or IMPORTED_LISTS_TABLE not in db.table_names():
        return ""
    row = db.execute(
        f"SELECT group_concat(name || ':' || version, ',') FROM {IMPORTED_LISTS_TABLE}"
    ).fetchone()
    return str(row[0] or "")


def _load(db: sqlite_utils.Database | None) -> list[Entry]:
    if db is None or IMPORTED_LISTS_TABLE not in db.table_names():
        return []
    return load_imported(db)


ENTRY_SOURCE = EntrySource("imported", _fingerprint, _load)
