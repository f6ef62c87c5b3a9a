"""Is a changed document the one the last poll recorded, but for its timestamps?

Many feeds are rebuilt between two polls without anything new: the channel's
`lastBuildDate` (or the Atom feed's `updated`) is set to the time of the request, so the
ETag changes and the server answers 200 with the same entries. `entries_hash` gives such a
document the same hash every time: a hash of its bytes with only the channel's own date
elements left out, those before the first entry. The poller keeps the hash of the last
document whose items it recorded (`feeds.entries_hash`); a document with the same hash
brings nothing new and is neither pre-scanned nor parsed.

Why that cannot lose an item: every entry, and everything before it except those date
elements, is hashed byte for byte, together with what else decides how entries become items
(the URL the document was finally fetched from, which resolves relative links, its content
type, which picks its encoding, and the parse caps of `[fetch]`). Equal hashes mean the
parser would yield the same items as last time, and all of those were recorded then (the
hash is saved only when recording succeeded), or were dropped then for reasons that still
hold (beyond `max_items`, a repeated link). A date element is skipped only when it is a
plain text element (no attributes, no markup inside); anything else changes the hash, and
the document is read as before.
"""

from __future__ import annotations

import hashlib
import re

from sanctionwatch.config.settings import FetchSettings

# Bump when what is hashed changes: hashes saved by another layout then never match.
HASH_LAYOUT = "1"

# Where the entries begin: the first RSS/RDF <item> or Atom <entry> start tag, with or
# without a namespace prefix ("<items>", the RDF channel's table of contents, is not one).
_FIRST_ENTRY = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:item|entry)[\s/>]", re.IGNORECASE)
# Channel-level dates that a rebuilt feed stamps with the time of the request. Only these
# plain text elements are left out; nothing in them names, dates or links an entry.
_HEADER_DATES = re.compile(
    rb"<((?:[A-Za-z_][\w.-]*:)?(?:lastBuildDate|pubDate|updated|date|modified))>"
    rb"[^<>&]{0,64}</\1>"
)


def entries_hash(
    body: bytes, url: str | None, content_type: str | None, settings: FetchSettings
) -> str:
    """A hash equal for two documents that differ at most in their channel's dates."""
    first = _FIRST_ENTRY.search(body)
    cut = first.start() if first else len(body)
    h = hashlib.blake2b(digest_size=16)
    for part in (
        HASH_LAYOUT,
        url or "",
        content_type or "",
        f"{settings.max_items}/{settings.max_title_chars}/{settings.max_text_chars}",
    ):
        h.update(part.encode("utf-8", "surrogateescape"))
        h.update(b"\0")
    h.update(_HEADER_DATES.sub(b"", body[:cut]))
    h.update(b"\0")
    h.update(memoryview(body)[cut:])
    return h.hexdigest()


__all__ = ["HASH_LAYOUT", "entries_hash"]
