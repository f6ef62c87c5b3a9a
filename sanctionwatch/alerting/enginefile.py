"""Engines handed to worker processes by fingerprint, through a file.

The poller writes an engine once per fingerprint into a private folder; a worker that is
asked to analyse with a fingerprint it does not hold loads that file once, warms it up and
keeps it (with the matcher's look-up caches) until the fingerprint changes again. Nothing is
pickled per task or per poll cycle, and workers are never restarted for an edit.

The file format is the engine file's (`matching.enginestore`: keyed by the code and the
engine's fingerprint, written atomically); the folder is private because the engine file
beside the database moves on to a new fingerprint while queued tasks may still name the old.
When the engine file beside the database holds this fingerprint (it usually does: the
engine cache has just loaded or written it), it is copied instead of pickling the engine a
second time (`enginestore.copy_engine` checks the copy's header).
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
import threading
from pathlib import Path

from sanctionwatch.matching import enginestore
from sanctionwatch.matching.engine import Engine

log = logging.getLogger(__name__)

# Engine files kept besides the current one: tasks already queued with the previous
# fingerprint may still reach a worker that has to load it.
KEEP_PREVIOUS = 1


class EngineFiles:
    """A private folder of stored engines, one file per fingerprint. Thread-safe."""

    def __init__(self) -> None:
        self._folder: Path | None = None
        self._published: list[Path] = []
        self._lock = threading.Lock()

    def publish(self, engine: Engine, stored: Path | None = None) -> Path:
        """The file holding ``engine`` (written now unless already there): a copy of
        ``stored`` when that file holds this engine, else the engine pickled."""
        with self._lock:
            if self._folder is None:
                self._folder = Path(tempfile.mkdtemp(prefix="sanctionwatch-engines-"))
            name = hashlib.sha256(engine.fingerprint.encode("utf-8")).hexdigest()[:32]
            path = self._folder / f"engine-{name}.pickle"
            if path in self._published:
                return path
            copied = stored is not None and enginestore.copy_engine(
                stored, path, engine.fingerprint
            )
            if not copied and not enginestore.save_engine(path, engine):
                raise OSError(f"{path}: the engine for the workers could not be written")
            self._published.append(path)
            for old in self._published[: -1 - KEEP_PREVIOUS]:
                old.unlink(missing_ok=True)
            del self._published[: -1 - KEEP_PREVIOUS]
            log.info(
                "engine published bytes=%d file=%s how=%s",
                path.stat().st_size,
                path.name,
                "copied" if copied else "pickled",
            )
            return path

    def close(self) -> None:
        with self._lock:
            folder, self._folder, self._published = self._folder, None, []
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


def load_engine(path: str, fingerprint: str) -> Engine:
    """The engine in ``path``, warmed up; it must carry ``fingerprint`` (a stale or damaged
    file is an error: the pool then falls back to analysing in the poller)."""
    engine = enginestore.load_engine(Path(path), fingerprint)
    if engine is None:
        raise RuntimeError(f"{path}: engine file does not hold fingerprint {fingerprint[:40]}")
    engine.matcher.warm_up()
    return engine
