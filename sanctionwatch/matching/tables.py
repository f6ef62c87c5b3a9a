"""The name index's compact tables: a hash that is stable across processes (the index is
pickled and reloaded by worker processes and the cache), and posting lists that stay a plain
int until a key is shared (most keys belong to one name)."""

from __future__ import annotations

import zlib

WORD_ID_BITS = 24  # fuzzy words per index: up to 16.7M
HASH_BITS = 63 - WORD_ID_BITS


_LEN_BITS = HASH_BITS - 32  # below the crc32: the string's length, modulo
_LEN_MASK = (1 << _LEN_BITS) - 1


def stable_hash(s: str) -> int:
    """Stable across processes (unlike hash(str)): the index is pickled and reloaded."""
    return zlib.crc32(s.encode()) << _LEN_BITS | (len(s) & _LEN_MASK)


def file_id(table: dict[str, int | list[int]], key: str, name_id: int) -> None:
    """Add ``name_id`` under ``key``: an int for one name, a list once the key is shared."""
    have = table.get(key)
    if have is None:
        table[key] = name_id
    elif isinstance(have, int):
        table[key] = [have, name_id]
    else:
        have.append(name_id)


# What a token can start: ids of one-token names, and the second-token tables of longer ones.
Starts = tuple[tuple[int, ...], tuple[dict[str, int | list[int]], ...]]


def starts_of(
    singles: dict[str, int | list[int]],
    pairs: dict[str, dict[str, int | list[int]]],
    keys: tuple[str, ...],
) -> Starts:
    """The one-token names filed under any of ``keys``, and the second-token tables of the
    longer names whose first token is filed under one of them."""
    ids: list[int] = []
    subs: list[dict[str, int | list[int]]] = []
    for key in keys:
        got = singles.get(key)
        if got is not None:
            if isinstance(got, int):
                ids.append(got)
            else:
                ids.extend(got)
        sub = pairs.get(key)
        if sub is not None:
            subs.append(sub)
    return tuple(ids), tuple(subs)
