"""Make a feed document safe for feedparser before it sees a byte of it.

feedparser's strict parser refuses external entities, but it expands internal ones, so a
document declaring a plain-text entity on its own line and referencing it many times blows
up quadratically (a 200 KB document became 100 MB of text). ``defuse`` transcodes
UTF-16/32, EBCDIC and other non-ASCII-transparent encodings to UTF-8 and removes every
DOCTYPE (with comments and processing instructions) before the root element: without a
DOCTYPE no entity can be declared, so neither of feedparser's parsers has anything to expand.
"""

from __future__ import annotations

import functools
import re

__all__ = ["defuse"]

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


def defuse(body: bytes, content_type: str | None) -> tuple[bytes, str | None, list[str]]:
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
