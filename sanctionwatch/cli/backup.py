"""``python bot.py backup PATH``: a consistent copy of the live database.

SQLite's online backup API (``sqlite3.Connection.backup``) copies the pages as of one read
transaction. In WAL mode a reader never blocks the writer, so the copy is taken in a single
step while ``run`` or ``serve`` keep writing, without the run lock. (A ``cp`` of a WAL database
can tear: half the pages before a checkpoint, half after.) The copy is written under a
temporary name, checked with ``PRAGMA quick_check``, flushed to disk, and only then given its
name, so PATH is either a complete, checked backup or absent.
"""

from __future__ import annotations

import argparse
import logging
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from sanctionwatch.cli.common import settings_from_args
from sanctionwatch.errors import DatabaseFileError
from sanctionwatch.storage.db import BUSY_TIMEOUT_MS
from sanctionwatch.storage.dbfile import check_existing, side_files

log = logging.getLogger(__name__)

# Pages per backup step: all of them, in one read transaction. A smaller step would let
# the bot's writes in between, and SQLite restarts a backup whose source changed under it
# through another connection, so under steady writes it might never finish.
ALL_PAGES = -1


@dataclass(frozen=True)
class BackupResult:
    source: Path
    target: Path
    size_bytes: int
    pages: int


def _check_target(source: Path, target: Path, force: bool) -> None:
    if str(target) == "-":
        raise DatabaseFileError(
            "backup needs a file path, not - (the copy is a binary SQLite file)",
            hint="e.g. python bot.py backup /backup/sanctionwatch-$(date -u +%F).db",
        )
    if target.is_dir():
        raise DatabaseFileError(
            f"backup target is a folder: {target}",
            hint=f"give a file path, e.g. {target / 'sanctionwatch-backup.db'}",
        )
    if not target.parent.is_dir():
        raise DatabaseFileError(
            f"folder for the backup does not exist: {target.parent}",
            hint="create it first, or choose another path",
        )
    if target.exists() or target.is_symlink():
        if target.exists() and os.path.samefile(source, target):
            raise DatabaseFileError(
                f"backup target is the database itself: {target}",
                hint="choose a path outside the live database",
            )
        if not force:
            raise DatabaseFileError(
                f"backup target already exists: {target}",
                hint="choose a new name, or add --force to replace it",
            )
        busy = [p for p in side_files(target) if p.exists()]
        if busy:
            raise DatabaseFileError(
                f"{busy[0]} exists beside the backup target: is a sanctionwatch or sqlite3"
                f" using {target}?",
                hint="stop it, or choose another path (replacing an open database corrupts it)",
            )


def _open_source(source: Path) -> sqlite3.Connection:
    """Read-write when we may (SQLite then tidies its side files), read-only otherwise, so
    a read-only database can still be rescued. query_only: the backup never writes it."""
    writable = os.access(source, os.W_OK) and os.access(source.parent, os.W_OK | os.X_OK)
    if writable:
        conn = sqlite3.connect(str(source), timeout=BUSY_TIMEOUT_MS / 1000)
    else:
        uri = source.resolve().as_uri() + "?mode=ro"
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    conn.execute("PRAGMA query_only = ON")
    return conn


def backup_database(source: Path, target: Path, *, force: bool = False) -> BackupResult:
    """Copy the database at ``source`` to ``target`` (see the module docstring)."""
    if not source.exists():
        raise DatabaseFileError(
            f"no database to back up at {source}",
            hint="check 'database' in the config (bot.py backup never creates one)",
        )
    check_existing(source)
    _check_target(source, target, force)
    tmp = target.with_name(f".{target.name}.partial-{os.getpid()}")
    mode = os.stat(source).st_mode & 0o777  # the copy is as private as the database
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, mode)
    os.close(fd)
    try:
        src = _open_source(source)
        try:
            dst = sqlite3.connect(str(tmp))
            try:
                src.backup(dst, pages=ALL_PAGES)
                dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
                problems = [r[0] for r in dst.execute("PRAGMA quick_check").fetchall()]
                pages = int(dst.execute("PRAGMA page_count").fetchone()[0])
            finally:
                dst.close()
        finally:
            src.close()
        if problems != ["ok"]:
            raise DatabaseFileError(
                f"the copy of {source} failed SQLite's quick_check: {'; '.join(problems[:3])}",
                hint="the live database is damaged; keep it, and restore the last good backup",
            )
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        if force:
            os.replace(tmp, target)
        else:
            os.link(tmp, target)  # fails, keeping the file, if one appeared meanwhile
        _fsync_dir(target.parent)
    except sqlite3.Error as exc:
        raise DatabaseFileError(
            f"backup of {source} to {target} failed: {exc}",
            hint="check the free space and permissions of the target folder",
        ) from exc
    except FileExistsError as exc:
        raise DatabaseFileError(
            f"backup target appeared while copying: {target}", hint="choose a new name"
        ) from exc
    finally:
        for leftover in (tmp, *side_files(tmp)):
            leftover.unlink(missing_ok=True)
    size = target.stat().st_size
    log.info("backup written source=%s target=%s bytes=%d pages=%d", source, target, size, pages)
    return BackupResult(source, target, size, pages)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def cmd_backup(args: argparse.Namespace, out: TextIO) -> int:

    settings = settings_from_args(args)
    result = backup_database(settings.database, Path(args.path), force=args.force)
    print(
        f"backed up {result.source} to {result.target}"
        f" ({result.size_bytes} bytes, {result.pages} pages, quick_check ok)",
        file=out,
    )
    return 0


Handler = Callable[[argparse.Namespace, TextIO], int]


def add_backup_command(command: Callable[[str, Handler, str], argparse.ArgumentParser]) -> None:
    """Register ``backup`` on the main parser (``command`` adds --config and logging flags)."""
    p = command(
        "backup",
        cmd_backup,
        "write a consistent copy of the database, safe while run/serve write",
    )
    p.add_argument("path", metavar="PATH", help="the copy to write (a new file; not -)")
    p.add_argument("--force", action="store_true", help="replace PATH if it exists")
