"""A built engine on disk, so a command starts warm instead of rebuilding the matcher.

Building the engine (parsing the watchlists, analysing every alias, the deletion index) costs
about a second with the default lists and several with an official list imported; every CLI
command (`match`, `backtest`, `check`, `run --once`...) used to pay it. The built engine is
pickled to one file, keyed by:

* the engine's own fingerprint (rules folder, every watchlist file, imported list versions,
  Slack edits: ``engine.fingerprint``), so any edit of an input rebuilds it;
* the code that produced it (this package's version, and size and mtime of every module and
  data file of the package) and the versions of the libraries whose data is baked into it
  (simplemma, rapidfuzz, anyascii, babel, rigour): a cache written by other code is never
  trusted.

A file that is stale is rebuilt and replaced; one that cannot be read (truncated, corrupt,
another format) is rebuilt with a warning, never a crash. Writes go to a temporary file that
is renamed into place, so a reader never sees half a file and concurrent writers are safe.

The index's look-up caches travel with it: the per-word fuzzy look-ups and the lemma key
tables of the languages met so far (``NameIndex.warm_state``) are saved with the engine and
saved again when a command has grown them, so the next process does not redo that work.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import tempfile
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from sanctionwatch import __version__
from sanctionwatch.matching.engine import Database, Engine, EngineCache, EntrySource
from sanctionwatch.matching.gcpause import gc_paused

log = logging.getLogger(__name__)

# Bump when what is pickled changes shape (the module stats catch most code changes).
STORE_FORMAT = 1
_LIBRARIES = ("simplemma", "rapidfuzz", "anyascii", "babel", "rigour")
# Every module and data file of the package counts: loading the watchlists (CLDR place names,
# importers, YAML parsing) is baked into the stored entries as much as matching is.
_CODE_SUFFIXES = frozenset({".py", ".json", ".yaml", ".yml", ".xml"})
# Re-save a loaded engine when this many words (or one new language's lemma table, which
# counts as this many) were added to its look-up caches: rewriting the file costs about as
# much as a few thousand fresh look-ups.
WARMTH_RESAVE = 2_000


def code_fingerprint() -> str:
    """Changes when the matching code or a library whose output it stores changes."""
    h = hashlib.sha256(f"{STORE_FORMAT}:{__version__}".encode())
    package = Path(__file__).resolve().parent.parent
    for path in sorted(p for p in package.rglob("*") if p.suffix in _CODE_SUFFIXES):
        st = path.stat()
        h.update(f"{path.relative_to(package)}:{st.st_size}:{st.st_mtime_ns};".encode())
    for lib in _LIBRARIES:
        try:
            h.update(f"{lib}={metadata.version(lib)};".encode())
        except metadata.PackageNotFoundError:
            h.update(f"{lib}=none;".encode())
    return h.hexdigest()


def load_engine(path: Path, fingerprint: str) -> Engine | None:
    """The engine stored at ``path`` when it was built from these inputs by this code;
    None when there is none, it is stale, or it cannot be read (with a warning)."""
    try:
        with open(path, "rb") as fh, gc_paused():
            stored = pickle.load(fh)  # noqa: S301 - our own cache file, written by save_engine
    except FileNotFoundError:
        return None
    except Exception as exc:  # noqa: BLE001 - any damage means "rebuild", never a crash
        log.warning("engine cache unreadable path=%s error=%s: rebuilding", path, exc)
        return None
    if not (isinstance(stored, tuple) and len(stored) == 3 and isinstance(stored[2], Engine)):
        log.warning("engine cache has another format path=%s: rebuilding", path)
        return None
    code, fp, engine = stored[0], stored[1], stored[2]
    assert isinstance(engine, Engine)
    if code != code_fingerprint() or fp != fingerprint or engine.fingerprint != fingerprint:
        log.info("engine cache stale path=%s: rebuilding", path)
        return None
    log.info("engine cache loaded path=%s names=%d", path, len(engine.matcher))
    return engine


def save_engine(path: Path, engine: Engine) -> bool:
    """Write ``engine`` to ``path`` atomically; False (logged) when the folder is not
    writable: the cache only saves time, a command never fails for it."""
    tmp = ""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            blob = (code_fingerprint(), engine.fingerprint, engine)
            pickle.dump(blob, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        tmp = ""
    except OSError as exc:
        log.warning("engine cache not written path=%s error=%s", path, exc)
        return False
    finally:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
    log.info("engine cache written path=%s names=%d", path, len(engine.matcher))
    return True


class StoredEngineCache(EngineCache):
    """An ``EngineCache`` that loads the engine from ``path`` when its inputs are unchanged,
    and writes it there after building it."""

    def __init__(self, sources: Sequence[EntrySource], rules: Path, path: Path) -> None:
        super().__init__(sources, rules)
        self.path = path
        self._saved_warmth = 0

    def _make(self, fp: str, db: Database | None) -> Engine:
        engine = load_engine(self.path, fp)
        if engine is None:
            engine = super()._make(fp, db)
            save_engine(self.path, engine)
        self._saved_warmth = engine.matcher.warmth()
        return engine

    def keep_warm(self, engine: Engine) -> bool:
        """Save ``engine`` again when its look-up caches grew by ``WARMTH_RESAVE`` words or
        a new language since it was loaded or saved: the next process starts with them."""
        if engine is not self._engine:
            return False
        warmth = engine.matcher.warmth()
        if warmth - self._saved_warmth < WARMTH_RESAVE:
            return False
        self._saved_warmth = warmth
        return save_engine(self.path, engine)
