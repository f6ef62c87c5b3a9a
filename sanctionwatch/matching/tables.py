"""The name index's compact tables: a hash that is stable across processes (the index is
pickled and reloaded by worker processes and the cache), and posting lists that stay a plain
int until a key is shared (most keys belong to one name)."""

from __future__ import annotations

import zlib

WORD_ID_BITS = 24  # fuzzy words per index: up to 16.7M
HASH_BITS = 63 - WORD_ID_BITS


def stable_hash(s: str) -> int:
    """Stable across processes (unlike hash(str)): the index is pickled and reloaded."""
    return zlib.crc32(s.encode()) << (HASH_BITS - 32) | (len(s) & ((1 << (HASH_BITS - 32)) - 1))


def file_id(table: dict[str, int | list[int]], key: str, name_id: int) -> None:
    """Add ``name_id`` under ``key``: an int for one name, a list once the key is shared."""
    have = table.get(key)
    if have is None:
        table[key] = name_id
    elif isinstance(have, int):
        table[key] = [have, name_id]
    else:
        have.append(name_id)
