"""The watchlist baseline is parsed once per change of the YAML files, not once per command."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from sanctionwatch.errors import WatchlistError
from sanctionwatch.storage.db import Store
from sanctionwatch.watchlists.cache import BaselineCache
from tests.support.paths import REPO


def test_parsed_once_until_a_file_changes(tmp_path: Path) -> None:
    folder = tmp_path / "watchlists"
    shutil.copytree(REPO / "watchlists", folder)
    store = Store(tmp_path / "sw.db")
    cache = BaselineCache(folder)
    first = cache.get(store.db)
    for _ in range(20):
        assert cache.get(store.db) == first
    assert cache.loads == 1

    extra = folder / "extra.yaml"
    extra.write_text("entries:\n  - name: Example Shipping Co\n    type: organisation\n", "utf-8")
    assert any(e.name == "Example Shipping Co" for e in cache.get(store.db))
    assert cache.loads == 2

    # same size, new content, mtime forced back: the inode of an atomic replace still differs
    stat = extra.stat()
    replaced = folder / "extra.tmp"
    replaced.write_text(
        "entries:\n  - name: Example Shippers Ltd\n    type: organisation\n", "utf-8"
    )
    os.utime(replaced, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    os.replace(replaced, extra)
    names = {e.name for e in cache.get(store.db)}
    assert "Example Shippers Ltd" in names and "Example Shipping Co" not in names

    extra.write_text("entries: [oops", "utf-8")
    with pytest.raises(WatchlistError, match="extra.yaml"):
        cache.get(store.db)
    with pytest.raises(WatchlistError):  # a broken file is not cached as good
        cache.get(store.db)
    extra.unlink()
    assert cache.get(store.db) == first
    store.close()
