"""OpenSanctions ``targets.simple.csv`` → Entry objects.

Header: id, schema, name, aliases, birth_date, countries, addresses, identifiers, sanctions,
phones, emails, program_ids, dataset, first_seen, last_seen, last_change. Multi-valued
cells are joined with ``;``. Only id, schema and name are required (older exports have no
program_ids column).

Decisions: Person → person; Organization/Company/LegalEntity/PublicBody → organisation;
Vessel → vessel; Airplane → vessel with the tag ``aircraft`` and ``strict=True`` (as for
OFAC aircraft); any other schema → organisation with the schema as a tag. Programmes come
from program_ids, else from the free-text sanctions column.
"""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path

from sanctionwatch.models import Entry
from sanctionwatch.watchlists.importers.common import (
    clean,
    decode_text,
    format_error,
    program_tags,
    read_bytes,
    unique_names,
)
from sanctionwatch.watchlists.importers.version import (
    NO_DATE,
    ListVersion,
    ParsedList,
    SourceFile,
    newest_timestamp,
)

log = logging.getLogger(__name__)

FMT = "opensanctions-csv"
SOURCE = "OpenSanctions"
REQUIRED_COLUMNS = ("id", "schema", "name")
MULTI_SEP = ";"
# The export has no file date; the newest value of the first of these columns present stands
# in for one: last_seen is the crawl time (best), last_change the newest data change.
DATE_COLUMNS = ("last_seen", "last_change", "first_seen")

# schema → (Entry.type, type tag)
SCHEMA_MAP: dict[str, tuple[str, str]] = {
    "Person": ("person", "person"),
    "Organization": ("organisation", "organisation"),
    "Company": ("organisation", "organisation"),
    "LegalEntity": ("organisation", "organisation"),
    "PublicBody": ("organisation", "organisation"),
    "Vessel": ("vessel", "vessel"),
    "Airplane": ("vessel", "aircraft"),
}
STRICT_SCHEMAS = frozenset({"Airplane"})
NOTE_COLUMNS = (
    ("birth_date", "DOB"),
    ("countries", "Countries"),
    ("addresses", "Addresses"),
    ("identifiers", "Identifiers"),
    ("sanctions", "Sanctions"),
    ("dataset", "Datasets"),
    ("first_seen", "First seen"),
    ("last_change", "Last change"),
)


def _split(value: str | None) -> list[str]:
    return [clean(v) for v in (value or "").split(MULTI_SEP) if clean(v)]


def parse_opensanctions_csv(path: Path, list_name: str) -> list[Entry]:
    return read_opensanctions_csv(path, list_name).entries


def _version(header: list[str], dates: dict[str, list[str]]) -> ListVersion:
    for column in DATE_COLUMNS:
        if column in header:
            newest = newest_timestamp(column, dates[column])
            if newest is not None:
                return newest
    return ListVersion(NO_DATE, note=f"no dated {'/'.join(DATE_COLUMNS)} column")


def read_opensanctions_csv(path: Path, list_name: str) -> ParsedList:
    """The entries, the newest last_seen/last_change/first_seen as age marker, the hash."""
    data = read_bytes(path, FMT)
    text = decode_text(data, path)
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    header = [clean(h) for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise format_error(
            path,
            FMT,
            f"not an OpenSanctions targets.simple.csv: header lacks {', '.join(missing)} "
            f"(first line starts {text[:40]!r})",
        )
    ncols = len(header)
    entries: list[Entry] = []
    seen: set[str] = set()
    dates: dict[str, list[str]] = {c: [] for c in DATE_COLUMNS}
    try:
        for row in reader:
            line = reader.line_num
            if None in row or any(v is None for v in row.values()):
                got = ncols + len(row.get(None) or []) - sum(v is None for v in row.values())
                raise format_error(
                    path,
                    FMT,
                    f"line {line}: expected {ncols} columns, got {got} (truncated download?)",
                )
            entries.append(_entry(row, line, path, list_name, seen))
            for column, values in dates.items():
                if row.get(column):
                    values.append(row[column])
    except csv.Error as exc:
        raise format_error(
            path, FMT, f"line {reader.line_num}: malformed CSV: {exc} (truncated download?)"
        ) from exc
    log.info("parsed OpenSanctions list path=%s entries=%d", path, len(entries))
    return ParsedList(entries, _version(header, dates), (SourceFile.of(path, data),))


def _entry(row: dict[str, str], line: int, path: Path, list_name: str, seen: set[str]) -> Entry:
    source_id = clean(row["id"])
    name = clean(row["name"])
    if not source_id or not name:
        raise format_error(path, FMT, f"line {line}: empty id or name")
    if source_id in seen:
        raise format_error(path, FMT, f"line {line}: duplicate id {source_id}")
    seen.add(source_id)
    schema = clean(row["schema"])
    etype, type_tag = SCHEMA_MAP.get(schema, ("organisation", schema.lower() or "organisation"))
    programs = unique_names(_split(row.get("program_ids")) or _split(row.get("sanctions")))
    notes = [
        f"{label}: {', '.join(_split(row.get(col)))}"
        for col, label in NOTE_COLUMNS
        if _split(row.get(col))
    ]
    return Entry(
        id=f"{list_name}:{source_id}",
        name=name,
        type=etype,
        list=list_name,
        aliases=unique_names(_split(row.get("aliases")), exclude=name),
        tags=unique_names([*program_tags(programs), type_tag]),
        source=SOURCE,
        source_id=source_id,
        programs=programs,
        notes="; ".join(notes),
        strict=schema in STRICT_SCHEMAS,
        curated=False,
    )
