"""simplemma's dictionaries as the matcher reads them: a built trie where there is one, else
the low-memory stream.

simplemma ships each language's dictionary compressed. It can read one in three ways:

* a plain dict: hundreds of MB per language (400 MB for Polish), seconds to load;
* a stream over the compressed file: tens of MB, but a look-up decodes records one by one,
  70-300 µs for a word it has not met before. Fresh news is full of such words, and this
  was a fifth of the matcher's time on unseen text;
* a MARISA trie (``marisa-trie``): 1-20 MB, memory-mapped (shared by the worker
  processes), opened in milliseconds, a look-up in a few µs, the same answers. Building it
  takes 5-15 s and up to 750 MB per language, once.

So a trie is never built while matching: ``python bot.py lemmas --build`` builds them (the
container image does it at build time), and every language without one is read as a
stream, as before. A damaged trie file is reported and read past (the stream serves that
language), never rebuilt on the way.

Where tries live: ``$SANCTIONWATCH_LEMMA_DIR`` if set, else simplemma's own cache folder
(``~/.cache/simplemma/marisa_trie/<simplemma version>``, under ``$XDG_CACHE_HOME`` if set).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

__all__ = ["LEMMA_DIR_ENV", "Built", "Dictionaries", "build_tries", "trie_dir", "trie_path"]

LEMMA_DIR_ENV = "SANCTIONWATCH_LEMMA_DIR"


def trie_dir() -> Path:
    """Where built tries are read from and written to (see the module docstring)."""
    configured = os.environ.get(LEMMA_DIR_ENV, "").strip()
    if configured:
        return Path(configured).expanduser()
    from platformdirs import user_cache_dir
    from simplemma.__metadata__ import __version__ as simplemma_version

    return Path(user_cache_dir("simplemma")) / "marisa_trie" / simplemma_version


def trie_path(folder: Path, code: str) -> Path:
    """The trie file of simplemma language ``code`` in ``folder`` (simplemma's naming)."""
    return folder / f"{code}.dic"


class Dictionaries:
    """simplemma's ``DictionaryFactory``: per language the trie if built, else the stream.

    Every dictionary read is kept here, one per language met (a few MB each as tries, up to
    tens as streams): simplemma's own factories forget the least recent beyond eight, and
    with a ninth language in the news one was read again (1-4 s) on its next item, over and
    over."""

    def __init__(self, folder: Path) -> None:
        from simplemma.strategies import StreamDictionaryFactory

        self.folder = folder
        # opened once per language, kept in ``_loaded``: the factory's own cache adds nothing
        self._stream = StreamDictionaryFactory(cache_max_size=1)
        self._loaded: dict[str, Mapping[str, str]] = {}
        self._kinds: dict[str, str] = {}
        self._lock = threading.Lock()

    def get_dictionary(self, lang: str) -> Mapping[str, str]:
        got = self._loaded.get(lang)
        if got is not None:
            return got
        with self._lock:
            got = self._loaded.get(lang)
            if got is None:
                got, kind = self._open(lang)
                self._loaded[lang], self._kinds[lang] = got, kind
        return got

    def kind(self, lang: str) -> str:
        """How ``lang`` was read: "trie", "stream", or "" (not yet)."""
        return self._kinds.get(lang, "")

    def _open(self, lang: str) -> tuple[Mapping[str, str], str]:
        path = trie_path(self.folder, lang)
        if path.is_file():
            try:
                from marisa_trie import BytesTrie
                from simplemma.strategies.dictionaries.trie_dictionary_factory import (
                    TrieWrapDict,
                )

                # mapped, not read: worker processes share the pages (and a file replaced
                # by a rebuild is a new inode; the old mapping stays valid)
                trie = BytesTrie().mmap(str(path))
                log.info("lemma dictionary lang=%s kind=trie path=%s", lang, path)
                return TrieWrapDict(trie), "trie"
            except Exception as exc:  # noqa: BLE001 - any damage: read the stream instead
                log.warning(
                    "lemma trie unreadable, reading the stream instead lang=%s path=%s error=%s"
                    " hint=%s",
                    lang,
                    path,
                    exc,
                    "run `python bot.py lemmas --build` to rebuild it",
                )
        return self._stream.get_dictionary(lang), "stream"


@dataclass(frozen=True)
class Built:
    code: str  # simplemma language code
    path: Path
    seconds: float  # 0 when it was already there
    size: int  # bytes on disk
    built: bool


def build_tries(codes: Iterable[str], folder: Path) -> list[Built]:
    """Build the missing tries of simplemma languages ``codes`` into ``folder``, with
    simplemma's own trie factory (which removes a file it failed to write)."""
    from simplemma.strategies import TrieDictionaryFactory

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for code in codes:
        path = trie_path(folder, code)
        if path.is_file():
            out.append(Built(code, path, 0.0, path.stat().st_size, False))
            continue
        t0 = time.monotonic()
        factory = TrieDictionaryFactory(
            cache_max_size=1, use_disk_cache=True, disk_cache_dir=str(folder)
        )
        factory.get_dictionary(code)  # builds the trie and writes it to the folder
        del factory
        seconds = time.monotonic() - t0
        if not path.is_file():
            raise OSError(f"{path}: simplemma built the {code} trie but could not write it")
        log.info("lemma trie built lang=%s seconds=%.1f path=%s", code, seconds, path)
        out.append(Built(code, path, seconds, path.stat().st_size, True))
    return out
