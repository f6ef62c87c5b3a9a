"""A run lock beside the database, so two pollers never work on one database."""

from __future__ import annotations

import fcntl
import logging
import os
import socket
from pathlib import Path
from types import TracebackType
from typing import IO

from sanctionwatch.errors import LockError

log = logging.getLogger(__name__)


class RunLock:
    """Exclusive, non-blocking ``flock`` on ``<database>.lock``; released when the process dies.

    The lock file sits beside the database's *real* path (symlinks and ``..`` resolved), so
    a poller that reaches the same file under another name finds the same lock. (The database
    file itself is not locked: closing any handle on it would drop the POSIX locks SQLite
    holds in this process, see dbfile._OpenInodes.)
    """

    def __init__(self, database: Path) -> None:
        self.database = Path(database)
        self.real = Path(os.path.realpath(self.database))
        self.path = self.real.with_name(self.real.name + ".lock")
        self._fh: IO[str] | None = None

    def _describe(self) -> str:
        if self.real != Path(os.path.abspath(self.database)):
            return f"{self.database} (real path {self.real})"
        return str(self.database)

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._warn_hard_links()
        fh = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the lock's life
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown process"
            fh.close()
            raise LockError(
                f"another sanctionwatch is already running on {self._describe()} ({holder})",
                hint="stop that process first, or point this one at another database",
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        fh.flush()
        self._fh = fh

    def _warn_hard_links(self) -> None:
        """A second hard link is another name the lock cannot see: say so in the log."""
        try:
            links = os.stat(self.real).st_nlink
        except OSError:
            return  # not created yet
        if links > 1:
            log.warning(
                "database has other hard links path=%s links=%d; a poller started through"
                " another link is not stopped by the run lock",
                self.real,
                links,
            )

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
