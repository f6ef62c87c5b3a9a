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

The file is two pickles: a small header (the two keys) and the engine. Whether a file is
stale is known from the header alone (a stale million-name engine is not loaded to find out),
and a copy of the file can be checked the same way (``copy_engine``: the poller hands its
workers a copy of this file instead of pickling the engine a second time).

The index's look-up caches travel with it: the per-word fuzzy look-ups and the lemma key
tables of the languages met so far (``NameIndex.warm_state``) are saved with the engine and
saved again when a command has grown them, so the next process does not redo that work.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import shutil
import tempfile
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import BinaryIO

from sanctionwatch import __version__
from sanctionwatch.matching.engine import Database, Engine, EngineCache, EntrySource
from sanctionwatch.matching.gcpause import gc_paused

log = logging.getLogger(__name__)

# The engine file is the database's name plus this: one per database, beside it.
ENGINE_FILE_SUFFIX = ".engine"
# Bump when what is pickled changes shape (the module stats catch most code changes).
STORE_FORMAT = 2
# First value of a stored file's header (what the file is, and its layout).
_MAGIC = f"sanctionwatch-engine/{STORE_FORMAT}"
_LIBRARIES = ("simplemma", "rapidfuzz", "anyascii", "babel", "rigour")
# Every module and data file of the package counts: loading the watchlists (CLDR place names,
# importers, YAML parsing) is baked into the stored entries as much as matching is.
_CODE_SUFFIXES = frozenset({".py", ".json", ".yaml", ".yml", ".xml"})
# Re-save a loaded engine when this many words (or one new language's lemma table, which
# counts as this many) were added to its look-up caches: rewriting the file costs about as
# much as a few thousand fresh look-ups.
WARMTH_RESAVE = 2_000
COPY_CHUNK = 1 << 20  # bytes per read when copying an engine file


def engine_file_for(database: Path) -> Path:
    """Where the engine built for ``database`` is kept (``run``, ``serve`` and the commands
    that match all use this file)."""
    return database.parent / f"{database.name}{ENGINE_FILE_SUFFIX}"


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


def _read_header(fh: BinaryIO) -> tuple[str, str] | None:
    """(code fingerprint, engine fingerprint) from an open engine file, or None when it is
    not one (another format or layout). Raises on a damaged file."""
    header = pickle.load(fh)  # noqa: S301 - our own cache file, written by save_engine
    if not (isinstance(header, tuple) and len(header) == 3 and header[0] == _MAGIC):
        return None
    code, fp = header[1], header[2]
    return (code, fp) if isinstance(code, str) and isinstance(fp, str) else None


def load_engine(path: Path, fingerprint: str) -> Engine | None:
    """The engine stored at ``path`` when it was built from these inputs by this code;
    None when there is none, it is stale, or it cannot be read (with a warning)."""
    try:
        with open(path, "rb") as fh, gc_paused():
            header = _read_header(fh)
            if header is None:
                log.warning("engine cache has another format path=%s: rebuilding", path)
                return None
            if header != (code_fingerprint(), fingerprint):
                log.info("engine cache stale path=%s: rebuilding", path)
                return None
            engine = pickle.load(fh)  # noqa: S301 - as above
    except FileNotFoundError:
        return None
    except Exception as exc:  # noqa: BLE001 - any damage means "rebuild", never a crash
        log.warning("engine cache unreadable path=%s error=%s: rebuilding", path, exc)
        return None
    if not isinstance(engine, Engine) or engine.fingerprint != fingerprint:
        log.warning("engine cache has another format path=%s: rebuilding", path)
        return None
    log.info("engine cache loaded path=%s names=%d", path, len(engine.matcher))
    return engine


def save_engine(path: Path, engine: Engine) -> bool:
    """Write ``engine`` to ``path`` atomically; False (logged) when the folder is not
    writable: the cache only saves time, a command never fails for it."""
    header = (_MAGIC, code_fingerprint(), engine.fingerprint)

    def write(fh: BinaryIO) -> None:
        pickle.dump(header, fh, protocol=pickle.HIGHEST_PROTOCOL)
        pickle.dump(engine, fh, protocol=pickle.HIGHEST_PROTOCOL)

    if not _write_atomically(path, write):
        return False
    log.info("engine cache written path=%s names=%d", path, len(engine.matcher))
    return True


def copy_engine(source: Path, path: Path, fingerprint: str) -> bool:
    """Copy the engine file ``source`` to ``path`` (atomically) when it holds the engine
    of ``fingerprint`` built by this code; False when it does not or cannot be copied.

    The header is checked on the copy, never on ``source`` beforehand: ``source`` is only
    ever replaced whole (renamed over), so the copy is one version of it, and its header
    says which."""

    def write(fh: BinaryIO) -> None:
        try:
            src = open(source, "rb")  # noqa: SIM115 - closed below; a missing file is no engine
        except FileNotFoundError as exc:
            raise _NotThatEngine(source) from exc
        with src:
            shutil.copyfileobj(src, fh, COPY_CHUNK)
        fh.seek(0)
        try:
            header = _read_header(fh)
        except Exception as exc:  # noqa: BLE001 - a damaged file holds no engine
            raise _NotThatEngine(source) from exc
        if header != (code_fingerprint(), fingerprint):
            raise _NotThatEngine(source)

    try:
        return _write_atomically(path, write)
    except _NotThatEngine:
        return False


class _NotThatEngine(Exception):
    """The file holds another engine (or none): nothing to copy."""


def _write_atomically(path: Path, write: Callable[[BinaryIO], None]) -> bool:
    """Run ``write`` on a temporary file beside ``path``, then rename it to ``path``;
    False (logged) on a file-system error, with the temporary file removed."""
    tmp = ""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w+b") as fh:
            write(fh)
        os.replace(tmp, path)
        tmp = ""
    except OSError as exc:
        log.warning("engine cache not written path=%s error=%s", path, exc)
        return False
    finally:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
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
