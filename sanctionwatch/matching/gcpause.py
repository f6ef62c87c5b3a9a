"""Pause the cyclic garbage collector while an index is built or loaded.

Building or unpickling a name index allocates millions of small objects (tuples, strings,
token analyses) and frees almost none. CPython's collector runs a pass every 700 net
allocations and, as the old generation grows, full passes that walk every live object: with a
million names that is most of the load time. Nothing built here forms reference cycles worth
collecting, so the collector is paused for the duration and resumed afterwards (it then sees
the objects once, not hundreds of times).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["gc_paused"]


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic collection inside the block (restored as it was, also on error)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
