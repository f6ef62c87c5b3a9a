"""Give feedparser only what is new in a changed document.

feedparser is most of a poll's CPU, yet a changed document usually repeats what the last
poll recorded: all of it (a bumped `lastBuildDate`, a reordered list) or all but a few new
items on top. `unread_part` asks the pre-scan (`ingest.prescan`) for every entry's identity,
looks them up, and returns either "nothing new" (no parse at all) or the document with the
recorded entries cut out, so feedparser reads only the new ones. Whenever the pre-scan is
unsure, the whole document is parsed as before.

Why the cut document gives the same new items as the whole one: the parser yields each
entry from its own element and its ancestors' context (namespaces, language; `xml:base`
makes the pre-scan unsure), and the cuts are whole sibling elements. Items already recorded
are dropped by the analysis anyway, and they never take part in its within-document
duplicate check. One difference would remain, the parser's `max_items` cap counting
entries, so documents with more entries than the cap are parsed whole.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sanctionwatch.ingest.prescan import scan, without_entries
from sanctionwatch.models import Item

log = logging.getLogger(__name__)

KnownLookup = Callable[[Sequence[Item], Sequence[str | None]], set[str]]


@dataclass(frozen=True)
class Unread:
    """What feedparser still has to read of a document."""

    entries: int  # entries in the whole document
    body: bytes | None  # the document without its recorded entries; None: nothing is new
    cut: int  # entries cut out because they are recorded


def scoped_id(item_id: str, feed: str) -> str:
    """A feed-local id made global: a link is the same story everywhere, but a plain guid or
    a title hash only identifies an item within its own feed ("1" in two feeds is two)."""
    if item_id.startswith("link:"):
        return item_id
    kind, _, rest = item_id.partition(":")
    return f"{kind}:{feed}|{rest}"


def unread_part(
    body: bytes,
    feed_name: str,
    content_type: str | None,
    base_url: str | None,
    known: KnownLookup,
    max_items: int,
) -> Unread | None:
    """The part of ``body`` with entries not yet recorded, or None to parse it whole.

    Only ids are compared, not links: an item known by its link alone (another feed's copy
    of a story) is left to the parser, so the pre-scan never has to be exact about links
    that do not make an identity."""
    scanned = scan(body, content_type, base_url)
    if scanned is None:
        return None
    ids = [scoped_id(i, feed_name) for i in scanned.identities]
    unique = list(dict.fromkeys(ids))
    probes = [Item(i, feed_name, "", "", None, None) for i in unique]
    recorded = known(probes, [None] * len(probes))
    drop = {n for n, i in enumerate(ids) if i in recorded}
    if len(drop) == len(ids):
        return Unread(len(ids), None, len(ids))
    if not drop or len(ids) > max_items:
        return None
    return Unread(len(ids), without_entries(scanned, drop), len(drop))
