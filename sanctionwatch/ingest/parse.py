"""Parsing feed documents into `Item`s safely; identities and link normalisation.

Fetching lives in `sanctionwatch.ingest.fetch` and is re-exported here (`fetch`, `FetchSettings`, ...).

Safety of `parse()` against hostile XML (see `xmlsafe.defuse`): before feedparser sees the bytes we
transcode non-ASCII-compatible documents (UTF-16/32, EBCDIC, UTF-7, ...) to UTF-8 and remove
every DOCTYPE (and the comments/PIs around it) from the prolog, so no entity can be declared:
billion laughs, quadratic blow-up, XXE (file or URL) and external DTDs have nothing to expand
or fetch, in feedparser's strict (expat) parser and its loose fallback alike. feedparser itself
already disables external general entities (feature_external_ges=0) and drops entity
declarations that reference other entities; we do not rely on that. The body is always handed
to feedparser as a stream, never as a string: feedparser treats a *string* that looks like a
path or URL as something to open.
"""

from __future__ import annotations

import calendar
import hashlib
import io
import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import feedparser

from sanctionwatch.config.settings import FetchSettings
from sanctionwatch.errors import FeedError
from sanctionwatch.ingest import dates
from sanctionwatch.ingest.fetch import DEFAULT_SETTINGS, FetchResult, FetchState, fetch, make_client
from sanctionwatch.ingest.xmlsafe import defuse
from sanctionwatch.models import Item

log = logging.getLogger(__name__)

# Dates more than this far ahead of now are treated as bogus and dropped (published=None):
# clamping to "now" would make a wrong date look trustworthy.
FUTURE_TOLERANCE = timedelta(days=1)
# HTML longer than this many times the text cap is cut before extraction (markup is bulky,
# and 8 characters of HTML per character of text kept is ample for news summaries).
HTML_INPUT_FACTOR = 8
# Identities longer than this are hashed, so database keys stay small.
MAX_ID_CHARS = 512
MAX_LINK_CHARS = 4096
# Bytes of the document start inspected to tell HTML/JSON/binary apart from a feed.
SNIFF_BYTES = 4096
# Share of control bytes in the sniffed start above which a body is called binary.
BINARY_CONTROL_RATIO = 0.05
TRACKING_PARAMS = frozenset(
    {"fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid", "mc_cid",
     "mc_eid", "_hsenc", "_hsmi", "mkt_tok", "ocid", "cmpid", "smid", "at_medium", "at_campaign"}
)  # fmt: skip
_TAGLIKE = re.compile(r"</?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>|&(?:#\d+|#x[0-9a-fA-F]+|\w+);")
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u202a-\u202e\u2066-\u2069\ufeff]"
)
_BLOCK_TAGS = frozenset(
    "address article aside blockquote br dd div dl dt figcaption figure footer h1 h2 h3 h4 h5 "
    "h6 header hr li main nav ol p pre section table td th tr ul".split()
)
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "head", "title"})


@dataclass(frozen=True)
class ParsedFeed:
    title: str
    items: list[Item]
    warning: str | None  # e.g. feedparser's bozo message when items were still recovered


def _no_charset_guessing() -> None:
    """feedparser guesses a mis-declared document's charset with chardet whenever chardet is
    importable (``rigour`` brings it, through ``normality``): a slow pure-Python detection
    per such document, whose answer for Latin-1-like bytes (ISO-8859-1) turns Windows
    quotes and dashes into control characters. Without it feedparser tries utf-8, then
    windows-1252, then iso-8859-2: the same result whatever else is installed."""
    feedparser.encodings.lazy_chardet_encoding = None


def run_feedparser(data: bytes, headers: dict[str, str]) -> Any:
    """feedparser on a defused document, as every parse runs it (``bench/polling.py`` times
    it alone as the floor of a poll where everything is new)."""
    dates.install()  # localised day/month names (once per process; see ingest/dates.py)
    _no_charset_guessing()
    # We reduce every text to plain text ourselves (html_to_text drops all markup and
    # script/style content), so feedparser's HTML sanitiser and its rewriting of relative URIs
    # inside HTML add nothing but time (they were ~75% of parse time on HTML-heavy feeds).
    return feedparser.parse(
        io.BytesIO(data),
        response_headers=headers,
        sanitize_html=False,
        resolve_relative_uris=False,
    )


def parse(
    body: bytes,
    feed_name: str,
    *,
    content_type: str | None = None,
    base_url: str | None = None,
    settings: FetchSettings = DEFAULT_SETTINGS,
) -> ParsedFeed:
    """Parse a feed document into items. Raises FeedError when nothing usable is in it."""
    if not body or not body.strip(b" \t\r\n\x00\xef\xbb\xbf\xfe\xff"):
        raise FeedError(f"feed '{feed_name}': empty document", hint="the server sent no content")
    data, content_type, notes = defuse(body, content_type)
    headers = {"content-type": content_type or "application/xml"}
    if base_url:
        headers["content-location"] = base_url
    parsed = run_feedparser(data, headers)
    if not parsed.entries and not parsed.get("version"):
        raise _not_a_feed(feed_name, data, content_type, parsed)
    if parsed.get("bozo"):
        notes.insert(0, f"feed is not well-formed XML ({_one_line(parsed.get('bozo_exception'))})")
    items, item_notes = _items(parsed.entries, feed_name, base_url, settings)
    notes.extend(item_notes)
    title = _plain(
        parsed.feed.get("title_detail"), parsed.feed.get("title"), settings.max_title_chars
    )
    log.debug("parsed feed=%s items=%d bozo=%s", feed_name, len(items), bool(parsed.get("bozo")))
    return ParsedFeed(title=title or feed_name, items=items, warning="; ".join(notes) or None)


def _not_a_feed(feed_name: str, data: bytes, content_type: str | None, parsed: Any) -> FeedError:
    start = data[:SNIFF_BYTES]
    lowered = start.lower()
    controls = sum(1 for b in start if b < 32 and b not in b"\t\r\n")
    if controls > len(start) * BINARY_CONTROL_RATIO:
        what, hint = "binary data", "the URL serves a file that is not text; check the feed URL"
    elif b"<html" in lowered or b"<!doctype html" in lowered or "html" in (content_type or ""):
        what, hint = (
            "looks like an HTML page",
            "the URL serves a web page; look on it for the RSS/Atom link",
        )
    elif lowered.lstrip().startswith((b"{", b"[")):
        what, hint = (
            "JSON, not RSS/Atom",
            "JSON Feed is not supported; use the site's RSS/Atom feed",
        )
    else:
        reason = (
            _one_line(parsed.get("bozo_exception"))
            if parsed.get("bozo")
            else "no RSS/Atom elements"
        )
        what, hint = f"no RSS/Atom content: {reason}", "check the feed URL in a browser"
    return FeedError(f"feed '{feed_name}': not a feed ({what})", hint=hint)


# --------------------------------------------------------------------------- items


def _items(
    entries: list[Any], feed_name: str, base_url: str | None, settings: FetchSettings
) -> tuple[list[Item], list[str]]:
    items: list[Item] = []
    seen: set[str] = set()
    duplicates = future = 0
    now = datetime.now(UTC)
    for entry in entries:
        if len(items) >= settings.max_items:
            break
        title = _plain(entry.get("title_detail"), entry.get("title"), settings.max_title_chars)
        text = _entry_text(entry, settings.max_text_chars)
        link = safe_link(entry.get("link"), base_url)
        guid = guid_of(entry.get("id"))
        if not (title or text or link):
            continue
        published = _published(entry)
        if published is not None and published > now + FUTURE_TOLERANCE:
            published, future = None, future + 1
        raw_date = dict.get(entry, "published") or dict.get(entry, "updated")
        item_id = item_identity(guid, link, title or text[:MAX_ID_CHARS], raw_date)
        if item_id in seen:
            duplicates += 1
            continue
        seen.add(item_id)
        items.append(Item(item_id, feed_name, title, text, link, published, guid))
    notes = []
    if len(entries) > settings.max_items:
        notes.append(f"kept the first {settings.max_items} of {len(entries)} items")
    if duplicates:
        notes.append(f"{duplicates} duplicate item(s) skipped")
    if future:
        notes.append(f"{future} item date(s) in the future ignored")
    return items, notes


def _entry_text(entry: Any, cap: int) -> str:
    for content in entry.get("content") or []:
        text = _plain(content, None, cap)
        if text:
            return text
    return _plain(entry.get("summary_detail"), entry.get("summary"), cap)


def _plain(detail: Any, fallback: Any, cap: int) -> str:
    """Plain text from a feedparser text construct: HTML stripped, whitespace collapsed, capped."""
    value = detail.get("value") if detail else fallback
    if not value:
        return ""
    value = str(value)
    kind = str(detail.get("type") or "") if detail else ""
    if "html" in kind or _TAGLIKE.search(value):
        value = value[: cap * HTML_INPUT_FACTOR]
        if value.rfind("<") > value.rfind(">"):  # drop a tag cut in half by the slice
            value = value[: value.rfind("<")]
        value = html_to_text(value)
    return _cap(_clean(value), cap)


def _published(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = dict.get(entry, key)  # plain dict access: no feedparser key aliasing
        if parsed:
            try:
                return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
            except (OverflowError, ValueError, OSError, TypeError):
                return None
    return None


def guid_of(value: Any) -> str | None:
    """An entry's guid as its identity sees it (also used by `prescan`, which must agree)."""
    return _clean(str(value or ""))[:MAX_LINK_CHARS] or None


def safe_link(value: Any, base_url: str | None) -> str | None:
    """An entry's link if it is an absolute http(s) URL (relative ones resolved against the
    document's URL); None otherwise. Shared with `prescan`, which must agree."""
    if not value:
        return None
    link = _INVISIBLE.sub("", str(value)).strip()
    if base_url and not urlsplit(link).scheme:
        link = urljoin(base_url, link)
    parts = urlsplit(link)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return link if len(link) <= MAX_LINK_CHARS else None


# --------------------------------------------------------------------------- text


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Visible text of an HTML fragment (tags dropped, entities decoded, scripts skipped)."""
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    return "".join(extractor.parts)


def _clean(text: str) -> str:
    """NFC, invisible/control/bidi-override characters removed, whitespace collapsed."""
    return " ".join(_INVISIBLE.sub("", unicodedata.normalize("NFC", text)).split())


def _cap(text: str, cap: int) -> str:
    return text if len(text) <= cap else text[: max(0, cap - 1)].rstrip() + "…"


def _one_line(exc: Any) -> str:
    return " ".join(str(exc).split())[:300] if exc else "unknown error"


# --------------------------------------------------------------------------- identity


def normalize_link(url: str) -> str | None:
    """Canonical form of an http(s) URL for identity; None for anything else.

    Lowercases scheme and host, drops userinfo-free default ports (80/443), the fragment and
    tracking parameters (utm_*, fbclid, gclid, ...), sorts the remaining query parameters,
    turns an empty path into "/" and removes one trailing "/" from any other path.
    """
    try:
        parts = urlsplit(_INVISIBLE.sub("", url).strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if scheme not in ("http", "https") or not host:
        return None
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != {"http": 80, "https": 443}[scheme]:
        netloc += f":{port}"
    if parts.username is not None:
        netloc = parts.netloc.rsplit("@", 1)[0] + "@" + netloc
    path = parts.path or "/"
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    params = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith("utm_") and k.lower() not in TRACKING_PARAMS
    ]
    query = urlencode(sorted(params))
    return urlunsplit((scheme, netloc, path, query, ""))


def item_identity(guid: str | None, link: str | None, title: str, published: str | None) -> str:
    """Stable id: "link:<normalised>" for URL guids, "guid:<guid>", "link:<normalised link>",
    else "hash:<sha256 of title and date>". Over-long guids/links become "guid:sha256:<hex>"."""
    guid = (guid or "").strip()
    if guid:
        as_link = normalize_link(guid) if guid.lower().startswith(("http:", "https:")) else None
        if as_link:
            return _bounded_id("link:", as_link)
        return _bounded_id("guid:", guid)
    normalized = normalize_link(link) if link else None
    if normalized:
        return _bounded_id("link:", normalized)
    basis = f"{_clean(title)}\n{(published or '').strip()}"
    return "hash:" + hashlib.sha256(basis.encode("utf-8")).hexdigest()


def _bounded_id(prefix: str, value: str) -> str:
    if len(value) <= MAX_ID_CHARS:
        return prefix + value
    return f"{prefix}sha256:{hashlib.sha256(value.encode('utf-8')).hexdigest()}"


__all__ = [
    "FetchResult",
    "FetchSettings",
    "FetchState",
    "ParsedFeed",
    "fetch",
    "guid_of",
    "html_to_text",
    "item_identity",
    "make_client",
    "normalize_link",
    "parse",
    "safe_link",
]
