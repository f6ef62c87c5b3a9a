"""OFAC SDN legacy CSV (``sdn.csv`` plus ``alt.csv`` beside it) → Entry objects.

Layout (no header): ent_num, SDN_Name, SDN_Type, Program, Title, Call_Sign, Vess_type,
Tonnage, GRT, Vess_flag, Vess_owner, Remarks. ``-0-`` (usually ``-0- ``) means empty, the
last line is a lone ``\\x1a``, lines end in CRLF. alt.csv: ent_num, alt_num, alt_type,
alt_name, alt_remarks.

Decisions:
- Individuals are written ``SURNAME, Given Names[, Suffix]``; the canonical name is the
  natural order with the surname kept as published (``Yong Chol KIM``), and the published
  inverted form stays as an alias (it is also the surname-first order Korean/Chinese news
  uses). Inverted aliases from alt.csv/remarks get the same treatment.
- Aircraft become type ``vessel`` (the closest ENTRY_TYPES member: a named craft, not an
  organisation) with the tag ``aircraft`` instead of ``vessel``, and ``strict=True``:
  their names are registration marks (``EP-GOM``) that must never be fuzzy-matched.
- IMO numbers, call signs, flags etc. go into ``notes`` only: a fuzzy matcher would treat
  ``IMO 7937318`` as a near-miss of ``IMO 7937317``.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sanctionwatch.models import Entry
from sanctionwatch.watchlists.importers.common import (
    DOS_EOF,
    clean,
    decode_text,
    format_error,
    program_tags,
    read_bytes,
    unique_names,
)
from sanctionwatch.watchlists.importers.version import ParsedList, SourceFile, ofac_version

log = logging.getLogger(__name__)

FMT = "ofac-sdn"
SOURCE = "OFAC SDN"
SDN_COLUMNS = 12  # fixed by OFAC's legacy CSV specification
ALT_COLUMNS = 5
ALT_FILE_NAMES = ("alt.csv", "ALT.CSV")
NULL = "-0-"


@dataclass(frozen=True)
class Flavour:
    """Which OFAC list a legacy CSV holds: the SDN list (sdn.csv + alt.csv) or the
    Consolidated non-SDN list (cons_prim.csv + cons_alt.csv), same 12/5-column layout."""

    fmt: str
    source: str
    alt_names: tuple[str, ...]
    what: str  # how the main file is named to the user


SDN = Flavour(FMT, SOURCE, ALT_FILE_NAMES, "sdn.csv")
CONSOLIDATED = Flavour(
    "ofac-consolidated-csv",
    "OFAC Consolidated",
    ("cons_alt.csv", "CONS_ALT.CSV", *ALT_FILE_NAMES),
    "cons_prim.csv",
)

# SDN_Type → (Entry.type, type tag). "" is the entity marker (-0-).
TYPE_MAP: dict[str, tuple[str, str]] = {
    "individual": ("person", "person"),
    "vessel": ("vessel", "vessel"),
    "aircraft": ("vessel", "aircraft"),
    "": ("organisation", "organisation"),
}
STRICT_TYPES = frozenset({"aircraft"})

# a.k.a. / f.k.a. / n.k.a. 'NAME' inside Remarks. Names may contain apostrophes
# ('ABU-'UMAR'), so the closing quote is the one followed by ; or . or the end.
_REMARK_AKA = re.compile(r"\b[afn]\.k\.a\.\s+'(.+?)'(?=\s*(?:;|\.|$))")
_PROGRAM_SPLIT = re.compile(r"\]\s*\[")


def _field(value: str) -> str:
    value = clean(value)
    return "" if value == NULL else value


def natural_order(raw: str) -> str:
    """``KIM, Yong Chol`` → ``Yong Chol KIM``; ``DELOS REYES, Feliciano, Jr.`` → ``Feliciano DELOS REYES Jr.``."""
    surname, sep, rest = raw.partition(",")
    if not sep:
        return clean(raw)
    parts = [clean(p) for p in rest.split(",") if clean(p)]
    if not parts:
        return clean(surname)
    return " ".join([parts[0], clean(surname), *parts[1:]])


def split_programs(value: str) -> tuple[str, ...]:
    """``SDGT] [SYRIA`` → ``("SDGT", "SYRIA")``."""
    value = _field(value).strip("[] ")
    return unique_names(_PROGRAM_SPLIT.split(value)) if value else ()


def remark_akas(remarks: str) -> list[str]:
    return [m.group(1) for m in _REMARK_AKA.finditer(remarks)]


def lacks_eof_marker(data: bytes) -> bool:
    """OFAC ends every legacy CSV with a lone DOS EOF; a file without it may be cut off."""
    return not data.rstrip().endswith(DOS_EOF.encode("ascii"))


def _csv_rows(
    path: Path, data: bytes, ncols: int, what: str, fmt: str = FMT
) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) for every data row; raise on any row of the wrong width."""
    text = decode_text(data, path)
    if text.lstrip().startswith("<"):
        raise format_error(path, fmt, f"not an OFAC {what} CSV (the file is XML/HTML)")
    if lacks_eof_marker(data):
        log.warning(
            "OFAC file lacks the trailing DOS EOF marker; it may be truncated path=%s", path
        )
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        for row in reader:
            line = reader.line_num
            if not row or (len(row) == 1 and row[0].strip(DOS_EOF + " ") == ""):
                continue  # blank line or the trailing DOS EOF marker
            if line == 1 and row[0].strip().lower() == "ent_num":
                continue  # a header row added by some mirrors
            if len(row) != ncols:
                raise format_error(
                    path,
                    fmt,
                    f"line {line}: expected {ncols} columns, got {len(row)} (truncated download?)",
                )
            if not row[0].strip().isdigit():
                raise format_error(
                    path,
                    fmt,
                    f"line {line}: ent_num {row[0].strip()[:30]!r} is not a number "
                    f"(not an OFAC {what} file?)",
                )
            yield line, row
    except csv.Error as exc:
        raise format_error(
            path, fmt, f"line {reader.line_num}: malformed CSV: {exc} (truncated download?)"
        ) from exc


def _find_alt(sdn_path: Path, names: tuple[str, ...] = ALT_FILE_NAMES) -> Path | None:
    for name in names:
        candidate = sdn_path.parent / name
        if candidate.is_file():
            return candidate
    return None


def read_alt(path: Path, data: bytes | None = None, fmt: str = FMT) -> dict[str, list[str]]:
    """ent_num → alias names (aka, fka and nka alike) from alt.csv."""
    aliases: dict[str, list[str]] = {}
    if data is None:
        data = read_bytes(path, fmt)
    for _line, row in _csv_rows(path, data, ALT_COLUMNS, "alt.csv", fmt):
        name = _field(row[3])
        if name:
            aliases.setdefault(row[0].strip(), []).append(name)
    return aliases


def _notes(row: list[str]) -> str:
    labels = ("Title", "Call sign", "Vessel type", "Tonnage", "GRT", "Flag", "Owner")
    parts = [
        f"{label}: {_field(v)}" for label, v in zip(labels, row[4:11], strict=True) if _field(v)
    ]
    remarks = _field(row[11])
    if remarks:
        parts.append(remarks)
    return "; ".join(parts)


def _entry(
    row: list[str], line: int, path: Path, list_name: str, extra: list[str], flavour: Flavour = SDN
) -> Entry:
    ent_num = row[0].strip()
    raw_name = _field(row[1])
    if not raw_name:
        raise format_error(path, flavour.fmt, f"line {line}: ent_num {ent_num} has no name")
    sdn_type = _field(row[2]).lower()
    if sdn_type not in TYPE_MAP:
        log.warning(
            "unknown SDN_Type path=%s line=%d sdn_type=%r; treated as entity", path, line, sdn_type
        )
    etype, type_tag = TYPE_MAP.get(sdn_type, ("organisation", sdn_type or "organisation"))
    programs = split_programs(row[3])
    akas = [*extra, *remark_akas(_field(row[11]))]
    if sdn_type == "individual":
        name = natural_order(raw_name)
        names = [raw_name]
        for aka in akas:
            names += [natural_order(aka), aka] if "," in aka else [aka]
    else:
        name = raw_name
        names = akas
    return Entry(
        id=f"{list_name}:{ent_num}",
        name=name,
        type=etype,
        list=list_name,
        aliases=unique_names(names, exclude=name),
        tags=unique_names([*program_tags(programs), type_tag]),
        source=flavour.source,
        source_id=ent_num,
        programs=programs,
        notes=_notes(row),
        strict=sdn_type in STRICT_TYPES,
        curated=False,
    )


def parse_ofac_sdn(path: Path, list_name: str) -> list[Entry]:
    return read_ofac_sdn(path, list_name).entries


def read_ofac_sdn(path: Path, list_name: str) -> ParsedList:
    """The entries of sdn.csv (aliases from alt.csv beside it), the highest ent_num as the
    list's age marker, and the SHA-256 of both files as read."""
    return read_legacy_csv(path, list_name, SDN)


def read_ofac_consolidated_csv(path: Path, list_name: str) -> ParsedList:
    """The Consolidated (non-SDN) list's cons_prim.csv, aliases from cons_alt.csv beside it
    (or alt.csv: the name a download is given when it is fetched from ``aliases_url``)."""
    return read_legacy_csv(path, list_name, CONSOLIDATED)


def read_legacy_csv(path: Path, list_name: str, flavour: Flavour) -> ParsedList:
    fmt = flavour.fmt
    data = read_bytes(path, fmt)
    files = [SourceFile.of(path, data)]
    alt_path = _find_alt(path, flavour.alt_names)
    alt: dict[str, list[str]] = {}
    if alt_path is not None:
        alt_data = read_bytes(alt_path, fmt)
        files.append(SourceFile.of(alt_path, alt_data))
        alt = read_alt(alt_path, alt_data, fmt)
    else:
        log.warning(
            "no alias file beside the OFAC file; aliases come from Remarks only path=%s", path
        )
    entries: list[Entry] = []
    seen: set[str] = set()
    for line, row in _csv_rows(path, data, SDN_COLUMNS, flavour.what, fmt):
        ent_num = row[0].strip()
        if ent_num in seen:
            raise format_error(path, fmt, f"line {line}: duplicate ent_num {ent_num}")
        seen.add(ent_num)
        entries.append(_entry(row, line, path, list_name, alt.get(ent_num, []), flavour))
    orphans = len(set(alt) - seen)
    log.info(
        "parsed OFAC legacy CSV fmt=%s path=%s entries=%d alt_file=%s alt_entries=%d "
        "alt_orphans=%d",
        fmt,
        path,
        len(entries),
        alt_path,
        len(alt),
        orphans,
    )
    warnings = (
        (
            f"the file lacks the end-of-file marker (\\x1a) OFAC ends {flavour.what} with: the "
            "download "
            "may be cut off",
        )
        if lacks_eof_marker(data)
        else ()
    )
    return ParsedList(entries, ofac_version(entries), tuple(files), warnings)
