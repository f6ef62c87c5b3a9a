"""OFAC list XML (the "SDN XML" schema of ``consolidated.xml`` / ``sdn.xml``) → Entry objects.

Root ``sdnList`` (namespace ignored: OFAC has moved it between hosts) with a
``publshInformation`` header (``Publish_Date`` MM/DD/YYYY, ``Record_Count``; ``publsh`` is
OFAC's own spelling) and ``sdnEntry`` records: ``uid``, ``firstName``, ``lastName``,
``sdnType``, ``programList/program``, ``akaList/aka`` (type, category, names), ``idList/id``,
``vesselInfo``, ``remarks``, ``dateOfBirthList``, ``nationalityList``.

Decisions:
- Same naming as the legacy CSV (ofac.py): individuals are ``firstName lastName`` with the
  published ``LASTNAME, firstName`` kept as an alias.
- Akas of category ``weak`` go into ``notes`` only: OFAC itself describes weak akas as
  insufficient to identify anyone (the UN's ``Low`` quality akas are treated the same way).
- Identifiers (IMO, SWIFT/BIC, registration numbers) go into ``notes``, never into names.
- ``Publish_Date`` is the list's age marker; a ``Record_Count`` that disagrees with the
  records read means a cut-off download and fails the import.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from xml.etree.ElementTree import Element

from sanctionwatch.models import Entry
from sanctionwatch.watchlists.importers.common import (
    format_error,
    program_tags,
    read_bytes,
    unique_names,
)
from sanctionwatch.watchlists.importers.version import (
    NO_DATE,
    PUBLISH_DATE,
    ListVersion,
    ParsedList,
    SourceFile,
)
from sanctionwatch.watchlists.importers.xmlread import child, children, local, records, text

log = logging.getLogger(__name__)

FMT = "ofac-consolidated-xml"
SOURCE = "OFAC Consolidated"
ROOT_TAG = "sdnList"
RECORD_TAG = "sdnEntry"
HEADER_TAG = "publshInformation"
OFAC_DATE_FORMAT = "%m/%d/%Y"
WEAK = "weak"
# sdnType → (Entry.type, type tag); aircraft are strict (registration marks), as in ofac.py
TYPE_MAP: dict[str, tuple[str, str]] = {
    "individual": ("person", "person"),
    "entity": ("organisation", "organisation"),
    "vessel": ("vessel", "vessel"),
    "aircraft": ("vessel", "aircraft"),
}
STRICT_TYPES = frozenset({"aircraft"})


def _names(elem: Element, individual: bool) -> tuple[str, str]:
    """(natural-order name, published inverted name or "")."""
    first, last = text(elem, "firstName"), text(elem, "lastName")
    if individual and first and last:
        return f"{first} {last}", f"{last}, {first}"
    return " ".join(n for n in (first, last) if n), ""


def _ids(rec: Element) -> list[str]:
    out = []
    for ident in children(child(rec, "idList") or Element("x"), "id"):
        kind, number = text(ident, "idType"), text(ident, "idNumber")
        if number:
            out.append(f"{kind} {number}".strip())
    return out


def _entry(rec: Element, path: Path, list_name: str) -> Entry:
    uid = text(rec, "uid")
    if not uid:
        raise format_error(path, FMT, "an sdnEntry has no uid")
    sdn_type = text(rec, "sdnType").lower()
    if sdn_type not in TYPE_MAP:
        log.warning("unknown sdnType path=%s uid=%s sdn_type=%r", path, uid, sdn_type)
    etype, type_tag = TYPE_MAP.get(sdn_type, ("organisation", sdn_type or "organisation"))
    individual = sdn_type == "individual"
    name, inverted = _names(rec, individual)
    if not name:
        raise format_error(path, FMT, f"sdnEntry uid {uid} has no name")
    names = [inverted] if inverted else []
    weak: list[str] = []
    for aka in children(child(rec, "akaList") or Element("x"), "aka"):
        aka_name, aka_inverted = _names(aka, individual)
        if not aka_name:
            continue
        if text(aka, "category").lower() == WEAK:
            weak.append(aka_name)
        else:
            names += [aka_name, aka_inverted] if aka_inverted else [aka_name]
    programs = unique_names(
        p.text or "" for p in children(child(rec, "programList") or Element("x"), "program")
    )
    vessel = child(rec, "vesselInfo")
    notes = [
        f"{label}: {value}"
        for label, value in (
            ("Title", text(rec, "title")),
            ("Call sign", text(vessel, "callSign")),
            ("Vessel type", text(vessel, "vesselType")),
            ("Flag", text(vessel, "vesselFlag")),
            ("IDs", "; ".join(_ids(rec))),
            ("Weak a.k.a.", "; ".join(weak)),
        )
        if value
    ]
    remarks = text(rec, "remarks")
    if remarks:
        notes.append(remarks)
    return Entry(
        id=f"{list_name}:{uid}",
        name=name,
        type=etype,
        list=list_name,
        aliases=unique_names(names, exclude=name),
        tags=unique_names([*program_tags(programs), type_tag]),
        source=SOURCE,
        source_id=uid,
        programs=programs,
        notes="; ".join(notes),
        strict=sdn_type in STRICT_TYPES,
        curated=False,
    )


def _version(published: str, path: Path) -> ListVersion:
    if not published:
        return ListVersion(NO_DATE, note="no Publish_Date in publshInformation")
    try:
        day = datetime.strptime(published, OFAC_DATE_FORMAT).date()
    except ValueError:
        log.warning("unreadable OFAC Publish_Date path=%s value=%r", path, published[:40])
        return ListVersion(NO_DATE, note=f"unreadable Publish_Date {published[:40]!r}")
    return ListVersion(PUBLISH_DATE, day.isoformat())


def read_ofac_xml(path: Path, list_name: str) -> ParsedList:
    """The entries, the Publish_Date as the list's age marker, and the file's hash."""
    data = read_bytes(path, FMT)
    header: dict[str, str] = {}

    def on_header(elem: Element) -> None:
        if local(elem.tag) == HEADER_TAG:
            header["date"] = text(elem, "Publish_Date")
            header["count"] = text(elem, "Record_Count")

    entries: list[Entry] = []
    seen: set[str] = set()
    for rec in records(path, data, FMT, ROOT_TAG, RECORD_TAG, on_header):
        entry = _entry(rec, path, list_name)
        if entry.source_id in seen:
            raise format_error(path, FMT, f"duplicate sdnEntry uid {entry.source_id}")
        seen.add(entry.source_id)
        entries.append(entry)
    count = header.get("count", "")
    if count.isdigit() and int(count) != len(entries):
        raise format_error(
            path,
            FMT,
            f"Record_Count says {int(count):,} entries but the file holds {len(entries):,} "
            "(cut-off download?)",
        )
    version = _version(header.get("date", ""), path)
    log.info("parsed OFAC XML path=%s entries=%d date=%s", path, len(entries), version.value)
    return ParsedList(entries, version, (SourceFile.of(path, data),))
