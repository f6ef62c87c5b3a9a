"""Checks on the database *file*, before and around SQLite: what is there, may we write it,
is it intact. Each failure is a :class:`DatabaseFileError` naming the path and what to do.

Why not leave it all to SQLite: SQLite takes a 0-byte file for a new, empty database (a failed
copy would silently become a fresh install and every alert would be posted again), reports a
read-only file as a traceback-worthy ``attempt to write a readonly database`` only at the first
write, and reads a damaged page only when a query happens to touch it.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from pathlib import Path

from sanctionwatch.errors import DatabaseFileError

log = logging.getLogger(__name__)

# Every SQLite 3 database file starts with these 16 bytes (https://sqlite.org/fileformat.html).
SQLITE_HEADER = b"SQLite format 3\x00"
# quick_check stops after this many problems; the first few are what an operator needs.
QUICK_CHECK_MAX_ERRORS = 10
QUICK_CHECK_SHOWN = 3
RESTORE_HINT = (
    "restore the latest backup (made with `bot.py backup PATH`): stop sanctionwatch, replace"
    " the file, delete any -wal and -shm files beside it, start again"
)


def side_files(path: Path) -> tuple[Path, Path]:
    """SQLite's WAL-mode companions of ``path``: ``PATH-wal`` and ``PATH-shm``."""
    return path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")


class _OpenInodes:
    """The database files this process has open through a Store.

    A raw ``open()``/``close()`` of a database file drops every POSIX lock the *process* holds
    on it, including the SHARED lock each WAL-mode connection keeps; another process could then
    checkpoint and delete the WAL under our feet (https://sqlite.org/howtocorrupt.html, 2.2).
    So the header is read with a plain file handle only while no connection of ours is open on
    that inode; once a file is open, SQLite itself keeps checking it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[int, int], int] = {}

    def is_open(self, key: tuple[int, int]) -> bool:
        with self._lock:
            return self._counts.get(key, 0) > 0

    def add(self, key: tuple[int, int]) -> None:
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1

    def remove(self, key: tuple[int, int]) -> None:
        with self._lock:
            left = self._counts.get(key, 0) - 1
            if left > 0:
                self._counts[key] = left
            else:
                self._counts.pop(key, None)


OPEN_INODES = _OpenInodes()  # process state (not a setting): which files SQLite holds open


def inode_key(path: Path) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_dev, st.st_ino


def check_existing(path: Path) -> None:
    """``path`` exists: refuse a folder, a 0-byte file or a file that is not SQLite."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise DatabaseFileError(f"cannot read database {path}: {exc.strerror}") from exc
    if path.is_dir():
        raise DatabaseFileError(
            f"database path is a folder, not a file: {path}",
            hint="set 'database' in the config to a file path, e.g. data/sanctionwatch.db",
        )
    if st.st_size == 0:
        wal, _shm = side_files(path)
        if wal.exists() and wal.stat().st_size > 0:
            return  # pages still in the WAL only: SQLite reads them from there
        raise DatabaseFileError(
            f"database file is empty (0 bytes): {path}",
            hint="an empty file: a failed copy? remove it to start a new database,"
            " or restore the backup (`bot.py backup` makes one)",
        )
    if OPEN_INODES.is_open((st.st_dev, st.st_ino)):
        return  # see _OpenInodes: no raw open/close while SQLite holds locks on it
    try:
        with open(path, "rb") as fh:
            header = fh.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise DatabaseFileError(
            f"cannot read database {path}: {exc.strerror}",
            hint="make it readable by the user running sanctionwatch",
        ) from exc
    if header != SQLITE_HEADER:
        raise DatabaseFileError(
            f"not an SQLite database: {path} ({st.st_size} bytes, starts with {header[:8]!r})",
            hint="is 'database' pointing at the right file? restore the backup, or remove the"
            " file to start a new database",
        )


def check_writable(path: Path) -> None:
    """The file (if it exists) and its folder must be writable: WAL mode creates
    ``PATH-wal`` and ``PATH-shm`` beside the database and deletes them on the last close."""
    folder = path.parent
    if path.exists() and not os.access(path, os.W_OK):
        raise DatabaseFileError(
            f"database file is read-only: {path}",
            hint="make it writable by the user running sanctionwatch"
            " (chown/chmod u+w; `lsattr` shows an immutable flag)",
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        wal, shm = side_files(path)
        raise DatabaseFileError(
            f"folder is not writable: {folder} (SQLite needs to create {wal.name} and"
            f" {shm.name} beside the database)",
            hint="make the folder writable by the user running sanctionwatch, or point"
            " 'database' at a writable folder",
        )


def preflight(path: Path) -> None:
    """What ``run`` and ``check`` verify before anything else: an existing database is an
    SQLite file we may write, or the nearest existing folder of a new one is writable."""
    if path.exists() or path.is_symlink():
        check_existing(path)
        check_writable(path)
        return
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise DatabaseFileError(
            f"cannot create database {path}: {folder} is not a writable folder",
            hint="point 'database' at a writable location",
        )


def describe_sqlite_error(path: Path, exc: sqlite3.Error) -> DatabaseFileError:
    """Turn what SQLite raised while opening or migrating into an error an operator can act
    on (the checks above catch most cases earlier; this covers the rest, e.g. races)."""
    text = str(exc)
    if "readonly" in text or "read-only" in text:
        return DatabaseFileError(
            f"database file is read-only: {path} (SQLite: {text})",
            hint="make it and its folder writable by the user running sanctionwatch",
        )
    if "unable to open" in text:
        return DatabaseFileError(
            f"cannot open database {path} (SQLite: {text})",
            hint="check that the folder exists and the file and folder are readable and"
            " writable by the user running sanctionwatch",
        )
    if "malformed" in text or "corrupt" in text:
        return DatabaseFileError(f"database is damaged: {path} (SQLite: {text})", RESTORE_HINT)
    if "not a database" in text:
        return DatabaseFileError(
            f"not an SQLite database: {path} (SQLite: {text})",
            hint="is 'database' pointing at the right file? restore the backup",
        )
    return DatabaseFileError(
        f"database {path}: {text}",
        hint="is this an SQLite file written by sanctionwatch? restore it from a backup",
    )


def quick_check(conn: sqlite3.Connection, path: Path) -> None:
    """``PRAGMA quick_check``: every b-tree page readable and well-formed (it skips the
    index-versus-table comparison of integrity_check, so it is O(pages), not O(rows log n)).
    Run when ``run`` and ``serve`` start, not on every command: it reads the whole file."""
    started = time.monotonic()
    try:
        rows = conn.execute(f"PRAGMA quick_check({QUICK_CHECK_MAX_ERRORS})").fetchall()
    except sqlite3.DatabaseError as exc:  # so damaged that the check itself cannot read it
        raise DatabaseFileError(
            f"database failed SQLite's quick_check: {path}: {exc}", RESTORE_HINT
        ) from exc
    problems = [" ".join(str(r[0]).split()) for r in rows]  # one line each, for the log
    took = time.monotonic() - started
    if problems != ["ok"]:
        shown = "; ".join(problems[:QUICK_CHECK_SHOWN])
        more = len(problems) - QUICK_CHECK_SHOWN
        log.error("quick_check failed path=%s problems=%d", path, len(problems))
        raise DatabaseFileError(
            f"database failed SQLite's quick_check: {path}: {shown}"
            + (f" (and {more} more)" if more > 0 else ""),
            RESTORE_HINT,
        )
    log.info("quick_check ok path=%s seconds=%.2f", path, took)


def prepare_file(path: Path) -> None:
    """Before a Store connects: check an existing file, or create a new database where no
    file exists. Never lets SQLite turn an empty or foreign file into a fresh database."""
    if path.is_symlink() and not path.exists():
        raise DatabaseFileError(
            f"database is a symlink to a missing file: {path} -> {os.readlink(path)}",
            hint="is the volume holding the database mounted? fix or remove the link",
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseFileError(
            f"cannot create the folder for the database: {path.parent}: {exc.strerror}",
            hint="create it, writable by the user running sanctionwatch",
        ) from exc
    if path.exists():
        check_existing(path)
    check_writable(path)
    if not path.exists():
        _create_new(path)


def _create_new(path: Path) -> None:
    """Create the database under a temporary name with its header written (journal_mode=WAL
    writes page 1), then link it into place: the real path is never a 0-byte file, even if we
    crash, and a file another process created meanwhile is kept, not replaced."""
    tmp = path.with_name(f".{path.name}.new-{os.getpid()}-{threading.get_ident()}")
    try:
        conn = sqlite3.connect(str(tmp), isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode = WAL")
        finally:
            conn.close()
        try:
            os.link(tmp, path)
        except FileExistsError:
            log.info("database created meanwhile by another process path=%s", path)
        except OSError:  # a filesystem without hard links: rename, unless it appeared meanwhile
            if not path.exists():
                os.replace(tmp, path)
        log.info("created new database path=%s", path)
    except sqlite3.Error as exc:
        raise describe_sqlite_error(path, exc) from exc
    finally:
        for leftover in (tmp, *side_files(tmp)):
            leftover.unlink(missing_ok=True)
