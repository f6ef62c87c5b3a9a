"""UN Security Council Consolidated List XML → Entry objects.

Root ``CONSOLIDATED_LIST`` with ``INDIVIDUALS/INDIVIDUAL`` and ``ENTITIES/ENTITY`` records.
Parsed with defusedxml (no DTDs, no entity expansion, no external references), streamed with
iterparse and each record cleared once converted.

Decisions:
- The name is FIRST_NAME … FOURTH_NAME joined in the published order (for DPRK records that
  is already surname first, e.g. ``RI WON HO``).
- Aliases: ALIAS_NAME of quality ``Good``/``a.k.a.``/``f.k.a.``, NAME_ORIGINAL_SCRIPT, and the
  acronyms/original-script parts inside parentheses. Aliases the UN marks ``Low`` quality
  ("insufficient to identify", e.g. ``Gul Mohammad``) are kept in ``notes`` but not matched:
  they would flood analysts with false positives.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as safe_et

from sanctionwatch.models import Entry
from sanctionwatch.watchlists.importers.common import (
    clean,
    format_error,
    name_variants,
    program_tags,
    read_bytes,
    unique_names,
)
from sanctionwatch.watchlists.importers.version import (
    NO_DATE,
    ListVersion,
    ParsedList,
    SourceFile,
    parse_timestamp,
)

log = logging.getLogger(__name__)

FMT = "un-xml"
SOURCE = "UN"
ROOT_TAG = "CONSOLIDATED_LIST"
RECORD_TYPES = {"INDIVIDUAL": "person", "ENTITY": "organisation"}
NAME_TAGS = ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")
LOW_QUALITY = "low"  # UN alias QUALITY value for aliases too weak to identify anyone
DATE_ATTRIBUTE = "dateGenerated"  # on the root: when the UN generated this file


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _text(elem: Element, tag: str) -> str:
    child = elem.find(tag)
    return clean(child.text) if child is not None else ""


def _values(elem: Element, tag: str) -> list[str]:
    return [clean(v.text) for v in elem.findall(f"{tag}/VALUE") if clean(v.text)]


def _dob(elem: Element) -> str:
    dobs = []
    for d in elem.findall("INDIVIDUAL_DATE_OF_BIRTH"):
        value = _text(d, "DATE") or _text(d, "YEAR")
        if not value and _text(d, "FROM_YEAR"):
            value = f"{_text(d, 'FROM_YEAR')}-{_text(d, 'TO_YEAR')}"
        if value:
            kind = _text(d, "TYPE_OF_DATE").lower()
            dobs.append(f"{value} ({kind})" if kind and kind != "exact" else value)
    return ", ".join(dobs)


def _record(rec: Element, kind: str, path: Path, list_name: str) -> Entry:
    ref = _text(rec, "REFERENCE_NUMBER") or f"DATAID-{_text(rec, 'DATAID')}"
    name = " ".join(n for n in (_text(rec, t) for t in NAME_TAGS) if n)
    if not name:
        raise format_error(path, FMT, f"{kind} {ref} has no name")
    good: list[str] = []
    low: list[str] = []
    for alias in rec.findall(f"{kind}_ALIAS"):
        alias_name = _text(alias, "ALIAS_NAME").strip("\"' ")
        if alias_name:
            target = low if _text(alias, "QUALITY").lower() == LOW_QUALITY else good
            target.append(alias_name)
    original = [clean(o.text) for o in rec.findall("NAME_ORIGINAL_SCRIPT") if clean(o.text)]
    names: list[str] = [*name_variants(name)]
    for alias_name in [*good, *original]:
        variants = name_variants(alias_name)
        names.extend(variants if variants else [alias_name])
    program = _text(rec, "UN_LIST_TYPE")
    programs = (program,) if program else ()
    etype = RECORD_TYPES[kind]
    listed_on, dob = _text(rec, "LISTED_ON"), _dob(rec)
    notes = [
        f"{label}: {', '.join(values)}"
        for label, values in (
            ("Title", _values(rec, "TITLE")),
            ("Designation", _values(rec, "DESIGNATION")),
            ("Nationality", _values(rec, "NATIONALITY")),
            ("Listed on", [listed_on] if listed_on else []),
            ("DOB", [dob] if dob else []),
            ("Low-quality a.k.a.", low),
        )
        if values
    ]
    comments = _text(rec, "COMMENTS1")
    if comments:
        notes.append(comments)
    return Entry(
        id=f"{list_name}:{ref}",
        name=name,
        type=etype,
        list=list_name,
        aliases=unique_names(names, exclude=name),
        tags=unique_names([*program_tags(programs), etype]),
        source=SOURCE,
        source_id=ref,
        programs=programs,
        notes="; ".join(notes),
        curated=False,
    )


def _version(root: Element, path: Path) -> ListVersion:
    value = clean(root.get(DATE_ATTRIBUTE))
    if not value:
        return ListVersion(NO_DATE, note=f"the root has no {DATE_ATTRIBUTE} attribute")
    if parse_timestamp(value) is None:
        log.warning("unreadable UN dateGenerated path=%s value=%r", path, value[:40])
        return ListVersion(NO_DATE, note=f"unreadable {DATE_ATTRIBUTE} {value[:40]!r}")
    return ListVersion(DATE_ATTRIBUTE, value)


def parse_un_xml(path: Path, list_name: str) -> list[Entry]:
    return read_un_xml(path, list_name).entries


def read_un_xml(path: Path, list_name: str) -> ParsedList:
    """The entries, the root's dateGenerated as the list's age marker, and the file's hash."""
    data = read_bytes(path, FMT)
    entries: list[Entry] = []
    seen: set[str] = set()
    root_seen = False
    version = ListVersion(NO_DATE, note="no root element")
    try:
        for event, elem in safe_et.iterparse(
            io.BytesIO(data), events=("start", "end"), forbid_dtd=True
        ):
            tag = _local(elem.tag)
            if event == "start":
                if not root_seen:
                    root_seen = True
                    if tag != ROOT_TAG:
                        raise format_error(
                            path, FMT, f"not UN consolidated list XML (root is <{tag}>)"
                        )
                    version = _version(elem, path)
                continue
            if tag in RECORD_TYPES:
                entry = _record(elem, tag, path, list_name)
                if entry.id in seen:
                    raise format_error(path, FMT, f"duplicate REFERENCE_NUMBER {entry.source_id}")
                seen.add(entry.id)
                entries.append(entry)
                elem.clear()
    except ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        raise format_error(
            path,
            FMT,
            f"not well-formed XML at line {line}, column {column} "
            f"(corrupted, mis-encoded or truncated download?)",
        ) from exc
    except defusedxml.DTDForbidden as exc:
        raise format_error(
            path, FMT, "not UN consolidated list XML (it has a DOCTYPE: an HTML error page?)"
        ) from exc
    except (defusedxml.EntitiesForbidden, defusedxml.ExternalReferenceForbidden) as exc:
        raise format_error(path, FMT, "declares XML entities; refused for safety") from exc
    log.info("parsed UN list path=%s entries=%d date=%s", path, len(entries), version.value)
    return ParsedList(entries, version, (SourceFile.of(path, data),))
