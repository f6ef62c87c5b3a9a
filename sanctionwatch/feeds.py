"""Parsing feed documents into `Item`s safely; identities and link normalisation.

Fetching lives in `sanctionwatch.fetch` and is re-exported here (`fetch`, `FetchSettings`, ...).

Safety of `parse()` against hostile XML (see `_defuse`): before feedparser sees the bytes we
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
import functools
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

from sanctionwatch.errors import FeedError
from sanctionwatch.fetch import (
    DEFAULT_SETTINGS,
    FetchResult,
    FetchSettings,
    FetchState,
    fetch,
    make_client,
)
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
_BOMS = (
    (b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xfe\xff", "utf-16-be"), (b"\xff\xfe", "utf-16-le"),
)  # fmt: skip
_NULL_PATTERNS = (
    (b"\x00\x00\x00<", "utf-32-be"), (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<", "utf-16-be"), (b"<\x00", "utf-16-le"), (b"\x4c\x6f\xa7\x94", "cp037"),
)  # fmt: skip
_XML_DECL = re.compile(rb"^\s*<\?xml\b[^>]{0,300}\?>")
_DECL_ENCODING = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']""")
_CHARSET = re.compile(r";\s*charset\s*=\s*[\"']?([^;\"'\s]+)[\"']?", re.I)
_DOCTYPE_TOKEN = re.compile(rb"""["'\[\]>]|<!--""")
_DANGEROUS_DECL = re.compile(rb"<!\s*(?:doctype|entity|element|attlist)", re.I)
_FIRST_ELEMENT = re.compile(rb"<\w")
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
    data, content_type, notes = _defuse(body, content_type)
    headers = {"content-type": content_type or "application/xml"}
    if base_url:
        headers["content-location"] = base_url
    # We reduce every text to plain text ourselves (html_to_text drops all markup and
    # script/style content), so feedparser's HTML sanitiser and its rewriting of relative URIs
    # inside HTML add nothing but time (they were ~75% of parse time on HTML-heavy feeds).
    parsed = feedparser.parse(
        io.BytesIO(data),
        response_headers=headers,
        sanitize_html=False,
        resolve_relative_uris=False,
    )
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


# --------------------------------------------------------------------------- defusing


def _defuse(body: bytes, content_type: str | None) -> tuple[bytes, str | None, list[str]]:
    """UTF-8-compatible bytes with no DOCTYPE (hence no entity declarations) in the prolog."""
    notes: list[str] = []
    bom = b"\xef\xbb\xbf" if body.startswith(b"\xef\xbb\xbf") else b""
    data, codec = _to_ascii_compatible(body[len(bom) :], content_type)
    if codec:
        content_type = _CHARSET.sub("; charset=utf-8", content_type) if content_type else None
    decl = b""
    match = _XML_DECL.match(data)
    if match:
        decl = match.group().strip()
        if codec:
            decl = b'<?xml version="1.0" encoding="utf-8"?>'
        data = data[match.end() :]
    rest, removed_entities = _strip_prolog(data)
    # Belt and braces: whatever still stands before the first element (junk text) must not
    # carry a declaration feedparser's regex-based doctype handling could pick up.
    first = _FIRST_ELEMENT.search(rest)
    head_end = first.start() if first else len(rest)
    danger = _DANGEROUS_DECL.search(rest, 0, head_end)
    if danger:
        rest = rest[: danger.start()] + rest[head_end:]
        removed_entities = True
    if removed_entities:
        notes.append("DOCTYPE with entity declarations removed (entities are never expanded)")
    return bom + (decl + b"\n" + rest if decl else rest), content_type, notes


def _to_ascii_compatible(body: bytes, content_type: str | None) -> tuple[bytes, str | None]:
    """Transcode to UTF-8 if the body's encoding is not ASCII-transparent; (data, codec used)."""
    codec = None
    for bom, name in _BOMS:
        if body.startswith(bom):
            body, codec = body[len(bom) :], name
            break
    else:
        codec = next((n for p, n in _NULL_PATTERNS if body.startswith(p)), None)
    if codec is None:
        declared = []
        charset = _CHARSET.search(content_type or "")
        if charset:
            declared.append(charset.group(1))
        decl = _XML_DECL.match(body)
        enc = _DECL_ENCODING.search(decl.group()) if decl else None
        if enc:
            declared.append(enc.group(1).decode("ascii"))
        codec = next((c for c in declared if not _ascii_transparent(c)), None)
    if codec is None:
        return body, None
    return body.decode(codec, errors="replace").encode("utf-8"), codec


@functools.lru_cache(maxsize=64)
def _ascii_transparent(codec: str) -> bool:
    """True if the codec maps bytes 0-127 to the same ASCII characters (or is unknown)."""
    ascii_bytes = bytes(range(128))
    try:
        return ascii_bytes.decode(codec) == ascii_bytes.decode("ascii")
    except LookupError:
        return True  # feedparser cannot use an unknown codec either
    except (UnicodeDecodeError, ValueError):
        return False


def _strip_prolog(data: bytes) -> tuple[bytes, bool]:
    """Drop whitespace, comments, PIs and DOCTYPEs before the root element."""
    pos, n, entities = 0, len(data), False
    while pos < n:
        while pos < n and data[pos] in b" \t\r\n":
            pos += 1
        if data.startswith(b"<?", pos):
            end = data.find(b"?>", pos + 2)
            pos = n if end < 0 else end + 2
        elif data.startswith(b"<!--", pos):
            end = data.find(b"-->", pos + 4)
            pos = n if end < 0 else end + 3
        elif data[pos : pos + 9].upper() == b"<!DOCTYPE":
            end = _doctype_end(data, pos + 9)
            entities = entities or re.search(rb"<!\s*entity", data[pos:end], re.I) is not None
            pos = end
        else:
            break
    return data[pos:], entities


def _doctype_end(data: bytes, pos: int) -> int:
    """Index just past the DOCTYPE's closing '>' (quotes, internal subset, comments honoured)."""
    depth, quote = 0, b""
    while True:
        if quote:
            end = data.find(quote, pos)
            if end < 0:
                return len(data)
            pos, quote = end + 1, b""
            continue
        token = _DOCTYPE_TOKEN.search(data, pos)
        if token is None:
            return len(data)
        char, pos = token.group(), token.end()
        if char == b"<!--":
            end = data.find(b"-->", pos)
            pos = len(data) if end < 0 else end + 3
        elif char in (b'"', b"'"):
            quote = char
        elif char == b"[":
            depth += 1
        elif char == b"]":
            depth = max(0, depth - 1)
        elif depth == 0:  # '>'
            return pos


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
        link = _safe_link(entry.get("link"), base_url)
        guid = _clean(str(entry.get("id") or ""))[:MAX_LINK_CHARS] or None
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


def _safe_link(value: Any, base_url: str | None) -> str | None:
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
    "html_to_text",
    "item_identity",
    "make_client",
    "normalize_link",
    "parse",
]
