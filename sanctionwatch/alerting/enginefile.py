"""Engines handed to worker processes by fingerprint, through a file.

The poller pickles an engine once per fingerprint into a private folder; a worker that is
asked to analyse with a fingerprint it does not hold loads that file once and keeps the
engine (and the matcher's look-up caches) until the fingerprint changes again. Nothing is
pickled per task or per poll cycle, and workers are never restarted for an edit.

This is the one seam between the pool and how engines are stored: if the runtime keeps an
engine cache file of its own, `EngineFiles.publish` can return that file's path instead.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import shutil
import tempfile
import threading
from pathlib import Path

from sanctionwatch.matching.engine import Engine

log = logging.getLogger(__name__)

# Engine files kept besides the current one: tasks already queued with the previous
# fingerprint may still reach a worker that has to load it.
KEEP_PREVIOUS = 1


class EngineFiles:
    """A private folder of pickled engines, one file per fingerprint. Thread-safe."""

    def __init__(self) -> None:
        self._folder: Path | None = None
        self._published: list[Path] = []
        self._lock = threading.Lock()

    def publish(self, engine: Engine) -> Path:
        """The file holding ``engine`` (written now unless already there)."""
        with self._lock:
            if self._folder is None:
                self._folder = Path(tempfile.mkdtemp(prefix="sanctionwatch-engines-"))
            name = hashlib.sha256(engine.fingerprint.encode("utf-8")).hexdigest()[:32]
            path = self._folder / f"engine-{name}.pickle"
            if path in self._published:
                return path
            partial = path.with_suffix(".partial")
            with open(partial, "wb") as fh:
                pickle.dump(engine, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(partial, path)  # a worker never reads a half-written engine
            self._published.append(path)
            for old in self._published[: -1 - KEEP_PREVIOUS]:
                old.unlink(missing_ok=True)
            del self._published[: -1 - KEEP_PREVIOUS]
            log.info("engine published bytes=%d file=%s", path.stat().st_size, path.name)
            return path

    def close(self) -> None:
        with self._lock:
            folder, self._folder, self._published = self._folder, None, []
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


def load_engine(path: str, fingerprint: str) -> Engine:
    """The engine in ``path``; it must carry ``fingerprint`` (a stale file is an error)."""
    with open(path, "rb") as fh:
        engine = pickle.load(fh)  # noqa: S301 - written by this poller, in its private folder
    if not isinstance(engine, Engine) or engine.fingerprint != fingerprint:
        raise RuntimeError(f"{path}: engine file does not hold fingerprint {fingerprint[:40]}")
    return engine
