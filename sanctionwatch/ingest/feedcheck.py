"""Checking a feed before it is added: fetch it once, parse it, and explain an HTML page.

People paste the address of a news site's page, not of its feed. A page that advertises its
feed (``<link rel="alternate" type="application/rss+xml" href="…">`` in its head) gets an
error naming that feed's address, so the fix is one copy and paste.
"""

from __future__ import annotations

import logging
import re
from html.parser import HTMLParser
from urllib.parse import urljoin

from sanctionwatch.config.settings import FetchSettings
from sanctionwatch.errors import FeedError
from sanctionwatch.ingest.fetch import FetchClient, FetchState, fetch
from sanctionwatch.ingest.parse import parse

log = logging.getLogger(__name__)

FEED_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/feed+json", "application/xml"}
)
# Where in a document "<html" must appear for it to count as a web page, not a feed that
# merely contains escaped HTML somewhere in its items.
HTML_SNIFF_BYTES = 2048
_HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*(<!doctype\s+html|<html)", re.IGNORECASE | re.S)


class _AlternateLinks(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "link":
            return
        a = {k.lower(): (v or "") for k, v in attrs}
        rels = a.get("rel", "").lower().split()
        if "alternate" in rels and a.get("type", "").lower() in FEED_TYPES and a.get("href"):
            self.links.append(a["href"])


def advertised_feeds(html: bytes, base_url: str) -> list[str]:
    """Absolute feed URLs a web page names in its ``<link rel="alternate">`` tags."""
    finder = _AlternateLinks()
    try:
        finder.feed(html.decode("utf-8", errors="replace"))
    except Exception:  # a broken page just advertises nothing  # noqa: BLE001
        return []
    return [urljoin(base_url, href) for href in finder.links]


def looks_like_html(body: bytes, content_type: str | None) -> bool:
    if content_type and content_type.split(";")[0].strip().lower() == "text/html":
        return True
    return bool(_HTML_START.match(body[:HTML_SNIFF_BYTES]))


def check_feed(
    url: str, name: str, settings: FetchSettings, client: FetchClient | None = None
) -> int:
    """Fetch and parse ``url`` once; the number of items. Raise FeedError saying what is
    wrong (unreachable, an HTML page and where its feed is, not a feed)."""
    result = fetch(url, FetchState(), settings, client)
    if result.error or result.body is None:
        raise FeedError(
            f"feed {name!r}: cannot fetch {url}: {result.error or f'HTTP {result.status}'}",
            hint="check the address; nothing was added",
        )
    if looks_like_html(result.body, result.content_type):
        found = advertised_feeds(result.body, result.url)
        if found:
            raise FeedError(
                f"feed {name!r}: {url} is a web page, not a feed; the page names its feed: "
                f"{found[0]}",
                hint=f"add {found[0]} instead",
            )
        raise FeedError(
            f"feed {name!r}: {url} is a web page (HTML), not an RSS or Atom feed, and it "
            "names no feed",
            hint="look for an RSS link on the site; nothing was added",
        )
    try:
        parsed = parse(result.body, name, content_type=result.content_type, base_url=result.url,
                       settings=settings)  # fmt: skip
    except FeedError as exc:
        raise FeedError(f"feed {name!r}: {url}: {exc.message}", hint="nothing was added") from exc
    log.info("feed checked feed=%s url=%s items=%d", name, url, len(parsed.items))
    return len(parsed.items)
