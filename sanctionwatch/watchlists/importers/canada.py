"""Canada's Consolidated Autonomous Sanctions List (SEMA / JVCFOA) XML → Entry objects.

Root ``data-set`` with ``record`` elements: Country, LastName, GivenName, EntityOrShip,
TitleOrShip, ShipIMONumber, DateOfBirthOrShipBuildDate, Aliases, Schedule, Item,
DateOfListing. Countries are bilingual (``Russia / Russie``); the regulation under which a
record is listed is its Country (for the Justice for Victims of Corrupt Foreign Officials
Regulations the "Country" is the regulation's name).

Decisions:
- No record id is published; (Country, Schedule, Item) is unique in the file and stable
  between publications (Global Affairs numbers items within each schedule), so the source id
  is ``<country>/<schedule>/<item>`` and the entry id ``<programme>-<schedule>-<item>``
  slugged (``canada-sema:sema-belarus-1-part-1-8``).
- Persons are ``GivenName LastName``; a record with EntityOrShip is a vessel when it has an
  IMO number, else an organisation.
- Programme: ``SEMA-<COUNTRY>`` (e.g. ``SEMA-RUSSIA``), or the acronym in parentheses of a
  regulation named in the Country field (``JVCFOR``).
- Aliases are one comma-separated text with language labels (``Russian: Руслан …``) and
  ``or`` alternatives; pieces that are only a legal-form suffix (``Ltd``) are dropped: as an
  alias such a word would match every company in the news.
- The newest DateOfListing is the list's age marker (the file states no date).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from xml.etree.ElementTree import Element

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
    DATE_OF_LISTING,
    NO_DATE,
    ListVersion,
    ParsedList,
    SourceFile,
    newest_timestamp,
)
from sanctionwatch.watchlists.importers.xmlread import records, text

log = logging.getLogger(__name__)

FMT = "canada-sema-xml"
SOURCE = "Canada SEMA"
ROOT_TAG = "data-set"
RECORD_TAG = "record"
_ALIAS_SPLIT = re.compile(r"\s*[,;]\s*|\s+or\s+")
_LANGUAGE_LABEL = re.compile(r"^[A-Za-z]+\s*:\s*")
_NON_WORD = re.compile(r"[^a-z0-9]+")
_ACRONYM_IN_PARENS = re.compile(r"\(([A-Z]{3,})\)")
# Legal-form words that are aliases only by accident of comma splitting.
_LEGAL_FORMS = frozenset(
    "ltd llc inc co corp jsc ojsc pjsc cjsc ooo oao zao gmbh limited plc sa ag"
    " company llp lp".split()
)


def _slug(value: str) -> str:
    return _NON_WORD.sub("-", value.casefold()).strip("-")


def _english(country: str) -> str:
    """``Russia / Russie`` → ``Russia``."""
    return clean(country.split(" / ")[0])


def programme(country: str) -> str:
    acronym = _ACRONYM_IN_PARENS.search(country)
    if acronym:
        return acronym.group(1)
    return "SEMA-" + _NON_WORD.sub("-", _english(country).casefold()).strip("-").upper()


def split_aliases(raw: str) -> list[str]:
    out: list[str] = []
    for piece in _ALIAS_SPLIT.split(raw):
        piece = clean(_LANGUAGE_LABEL.sub("", clean(piece))).strip(" .")
        if not piece or piece.casefold().strip(".") in _LEGAL_FORMS or len(piece) < 3:
            continue
        variants = name_variants(piece)
        out.extend(variants if variants else [piece])
    return out


def _entry(rec: Element, path: Path, list_name: str) -> Entry:
    country, schedule, item = text(rec, "Country"), text(rec, "Schedule"), text(rec, "Item")
    source_id = "/".join(p for p in (_english(country), schedule, item) if p)
    given, last, org = text(rec, "GivenName"), text(rec, "LastName"), text(rec, "EntityOrShip")
    imo = text(rec, "ShipIMONumber")
    if given or last:
        name, etype, type_tag = " ".join(p for p in (given, last) if p), "person", "person"
    elif org:
        etype, type_tag = ("vessel", "vessel") if imo else ("organisation", "organisation")
        name = org
    else:
        raise format_error(path, FMT, f"record {source_id or '?'} has no name")
    if not item:
        raise format_error(path, FMT, f"record {name!r} has no Item number")
    names = [*name_variants(name), *split_aliases(text(rec, "Aliases"))]
    programs = (programme(country),) if country else ()
    title = text(rec, "TitleOrShip")
    notes = [
        f"{label}: {value}"
        for label, value in (
            ("Country", country),
            ("Schedule", f"{schedule}, item {item}" if schedule else f"item {item}"),
            ("Ship type" if imo else "Title", title),
            ("IMO", imo),
            ("Built" if imo else "DOB", text(rec, "DateOfBirthOrShipBuildDate")),
            ("Listed on", text(rec, "DateOfListing")),
        )
        if value
    ]
    return Entry(
        id=f"{list_name}:" + "-".join(_slug(p) for p in (*programs, schedule, item) if _slug(p)),
        name=name,
        type=etype,
        list=list_name,
        aliases=unique_names(names, exclude=name),
        tags=unique_names([*program_tags(programs), type_tag]),
        source=SOURCE,
        source_id=source_id,
        programs=programs,
        notes="; ".join(notes),
        curated=False,
    )


def read_canada_xml(path: Path, list_name: str) -> ParsedList:
    """The entries, the newest DateOfListing as the list's age marker, and the file's hash."""
    data = read_bytes(path, FMT)
    entries: list[Entry] = []
    seen: set[str] = set()
    listed: list[str] = []
    for rec in records(path, data, FMT, ROOT_TAG, RECORD_TAG):
        entry = _entry(rec, path, list_name)
        if entry.id in seen:
            raise format_error(path, FMT, f"duplicate record {entry.source_id}")
        seen.add(entry.id)
        entries.append(entry)
        if value := text(rec, "DateOfListing"):
            listed.append(value)
    version = newest_timestamp(DATE_OF_LISTING, listed) or ListVersion(
        NO_DATE, note="no DateOfListing"
    )
    log.info("parsed Canada SEMA list path=%s entries=%d", path, len(entries))
    return ParsedList(entries, version, (SourceFile.of(path, data),))
