"""Helpers shared by the list parsers: reading bytes safely, error construction, name tidying."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from pathlib import Path

from sanctionwatch.errors import ImportFormatError

log = logging.getLogger(__name__)

# Encodings tried in order. OFAC's legacy CSV is documented as Latin-1 but recent downloads
# are pure ASCII; some mirrors re-save as UTF-8 or Windows-1252. latin-1 never fails, so
# it is the last resort and always yields text.
TEXT_ENCODINGS = ("utf-8", "cp1252", "latin-1")

# The DOS end-of-file character OFAC appends as the last "line" of every legacy CSV.
DOS_EOF = "\x1a"

_SPACES = re.compile(r"\s+")


def format_error(path: Path, fmt: str, what: str, hint: str = "") -> ImportFormatError:
    """An ImportFormatError whose message names the file and the format."""
    return ImportFormatError(
        f"{path}: {what} (format {fmt})",
        hint=hint
        or "check that the file is a complete download of this list; the previous "
        "version of the list stays in use",
    )


def read_bytes(path: Path, fmt: str) -> bytes:
    """The file's bytes; raise for a missing, unreadable or empty (or whitespace-only) file."""
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise format_error(path, fmt, "file not found", hint="check the path") from exc
    except OSError as exc:
        raise format_error(path, fmt, f"cannot read: {exc.strerror}") from exc
    if not data.strip(b" \t\r\n\x1a\x00"):
        raise format_error(
            path,
            fmt,
            "empty file",
            hint="the download probably failed; a list is never legitimately empty, "
            "so the previous version stays in use — download it again",
        )
    return data


def decode_text(data: bytes, path: Path) -> str:
    """Decode with the first encoding in TEXT_ENCODINGS that fits; drop a UTF-8 BOM."""
    for encoding in TEXT_ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding != "utf-8":
            log.info("decoded list file path=%s encoding=%s", path, encoding)
        return text.removeprefix("\ufeff")
    raise AssertionError("latin-1 decodes any byte string")  # pragma: no cover


def clean(value: str | None) -> str:
    """Collapse whitespace (incl. newlines inside XML text) and strip."""
    if not value:
        return ""
    return _SPACES.sub(" ", value).strip()


def unique_names(names: Iterable[str], exclude: str = "") -> tuple[str, ...]:
    """Non-empty names in first-seen order, without case-insensitive duplicates or ``exclude``."""
    seen = {exclude.casefold()} if exclude else set()
    out: list[str] = []
    for name in names:
        name = clean(name)
        key = name.casefold()
        if name and key not in seen:
            seen.add(key)
            out.append(name)
    return tuple(out)


def program_tags(programs: Iterable[str]) -> tuple[str, ...]:
    """Programme codes as lower-case tags (``DPRK3`` → ``dprk3``)."""
    return unique_names(p.lower() for p in programs)


_PAREN = re.compile(r"\s*\(([^()]*)\)\s*")
_ORIGINAL_SCRIPT_PREFIX = re.compile(r"^\s*original script:\s*", re.IGNORECASE)
_ACRONYM = re.compile(r"^[A-Z][A-Za-z0-9]*[A-Z][A-Za-z0-9]*$")  # AQAP, HQN, JuA, TTP


def _is_alias_annotation(piece: str) -> bool:
    """Keep a parenthetical as a name when it is original script or an acronym."""
    if any(ord(ch) > 0x7F and ch.isalpha() for ch in piece):
        return True
    return " " not in piece and bool(_ACRONYM.match(piece))


def name_variants(raw: str) -> list[str]:
    """Searchable names hidden in a published name such as ``AL-QAIDA IN THE ARABIAN PENINSULA
    (AQAP)``, ``Jin Tiesan (金铁三)``, ``X (original script: Х)``, ``A / B``: the name without
    its parentheses, acronyms and original-script parts, ``;``-separated lists inside
    parentheses, and ``/``-separated alternatives. English annotations such as ``(birth name)``
    or ``(third)`` are dropped."""
    raw = clean(raw)
    out: list[str] = []
    if "(" in raw:
        base = clean(_PAREN.sub(" ", raw)).strip(" ,;")
        if base and base != raw:
            out.append(base)
        for inner in _PAREN.findall(raw):
            inner = _ORIGINAL_SCRIPT_PREFIX.sub("", inner).strip(" ,;")
            if ";" in inner:
                out.extend(p for p in (clean(x) for x in inner.split(";")) if p)
            elif inner and _is_alias_annotation(inner):
                out.append(inner)
    if " / " in raw:
        out.extend(clean(p) for p in raw.split(" / ") if clean(p))
    return out
