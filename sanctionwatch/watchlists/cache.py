"""The watchlist baseline (YAML files + imported official lists), parsed once per change.

``/watchlist`` needs the baseline on every add, remove, list and show. Parsing every YAML file
costs ~140 ms on the shipped lists; fifty commands in a burst would spend seven seconds of CPU
on the same text. The cache is keyed by a fingerprint that changes when any file does:
(path, size, mtime_ns, inode) of every YAML file in the folder — an edit, a ``git pull`` (new
inode), an added or deleted file all miss the cache. Imported lists are keyed by their
names and version counters, bumped on every import.

Entries are frozen dataclasses, so sharing them between threads is safe; callers get a new
list each time.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import sqlite_utils

from sanctionwatch.config.yamlfiles import YAML_SUFFIXES
from sanctionwatch.models import Entry
from sanctionwatch.watchlists import imported as liststore
from sanctionwatch.watchlists.files import load_watchlists

log = logging.getLogger(__name__)

FileFingerprint = tuple[tuple[str, int, int, int], ...]


def files_fingerprint(folder: Path) -> FileFingerprint:
    """(path, size, mtime_ns, inode) of every YAML file in ``folder``, sorted by path."""
    if not folder.is_dir():
        return ()
    out = []
    for path in sorted(folder.iterdir()):
        if path.suffix not in YAML_SUFFIXES:
            continue
        try:
            st = path.stat()
        except OSError:  # deleted between listing and stat: the next call sees it gone
            continue
        out.append((str(path), st.st_size, st.st_mtime_ns, st.st_ino))
    return tuple(out)


def imported_fingerprint(db: sqlite_utils.Database | None) -> str:
    if db is None or "imported_lists" not in db.table_names():
        return ""
    row = db.execute(
        "SELECT group_concat(name || ':' || version, ',') FROM imported_lists"
    ).fetchone()
    return str(row[0] or "")


class BaselineCache:
    """``get(db)``: the baseline entries, re-read only when a file or an import changed.

    One lock: when the files change, the first caller parses them and concurrent callers wait
    for that result instead of each parsing the same files again.
    """

    def __init__(self, watchlists: Path) -> None:
        self.watchlists = Path(watchlists)
        self._lock = threading.Lock()
        self._files_key: FileFingerprint | None = None
        self._files: list[Entry] = []
        self._imported_key: str | None = None
        self._imported: list[Entry] = []
        self.loads = 0  # file parses so far (for logs and tests)

    def get(self, db: sqlite_utils.Database | None) -> list[Entry]:
        files_key = files_fingerprint(self.watchlists)
        imported_key = imported_fingerprint(db)
        with self._lock:
            if files_key != self._files_key:
                # a broken file raises here and is not cached: the next call tries again
                self._files = list(load_watchlists(self.watchlists))
                self._files_key = files_key
                self.loads += 1
                log.info(
                    "watchlist baseline reloaded folder=%s files=%d entries=%d",
                    self.watchlists,
                    len(files_key),
                    len(self._files),
                )
            if db is not None and imported_key != self._imported_key:
                self._imported = liststore.load_imported(db) if imported_key else []
                self._imported_key = imported_key
            imported = self._imported if db is not None else []
            return [*self._files, *imported]
