"""OpenSanctions FollowTheMoney entities (``entities.ftm.json``: one JSON object a line).

Each line is an entity ``{"id", "schema", "properties": {name: [values…]}, …}``; every property
is a list of strings (or, in API-style nested exports, of nested entity objects). OpenSanctions
adds ``caption``, ``datasets``, ``referents``, ``target``, ``first_seen``, ``last_seen`` and
``last_change`` at the top level.

Decisions:
- Only entities of the schemata in SCHEMA_MAP become entries (the same mapping as the CSV
  export); addresses, identifications, ownerships … are skipped. ``Sanction`` entities are
  read to give each target its programmes (``programId``, else ``program``) through their
  ``entity`` property.
- When the file marks targets (``"target": true``), only targets are imported: relatives and
  associates in the same export are context, not designations.
- Names: the first ``name`` (else ``caption``); aliases: other names, ``alias``,
  ``previousName``, ``abbreviation``. ``weakAlias`` values go into ``notes`` only (too weak to
  identify, like the UN's Low-quality akas).
- ``topics`` (``sanction``, ``role.pep`` …) become tags, so rules can select on them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sanctionwatch.models import Entry
from sanctionwatch.watchlists.importers.common import (
    clean,
    decode_text,
    format_error,
    program_tags,
    read_bytes,
    unique_names,
)
from sanctionwatch.watchlists.importers.opensanctions import SCHEMA_MAP, STRICT_SCHEMAS
from sanctionwatch.watchlists.importers.version import (
    NO_DATE,
    ListVersion,
    ParsedList,
    SourceFile,
    newest_timestamp,
)

log = logging.getLogger(__name__)

FMT = "opensanctions-ftm"
SOURCE = "OpenSanctions"
ALIAS_PROPERTIES = ("alias", "previousName", "abbreviation")
DATE_FIELDS = ("last_seen", "last_change", "first_seen")
NOTE_PROPERTIES = (
    ("birthDate", "DOB"),
    ("nationality", "Nationality"),
    ("country", "Countries"),
    ("imoNumber", "IMO"),
    ("registrationNumber", "Registration"),
    ("position", "Position"),
    ("weakAlias", "Weak alias"),
)


def _strings(values: Any) -> list[str]:
    """The text values of one property; nested entities give their caption or first name."""
    out: list[str] = []
    for value in values if isinstance(values, list) else [values]:
        if isinstance(value, str):
            text = clean(value)
        elif isinstance(value, dict):
            props = value.get("properties") or {}
            names = props.get("name") if isinstance(props, dict) else None
            text = clean(value.get("caption") or (names[0] if names else "") or "")
        else:
            continue
        if text:
            out.append(text)
    return out


def _prop(entity: dict[str, Any], key: str) -> list[str]:
    props = entity.get("properties") or {}
    return _strings(props.get(key, [])) if isinstance(props, dict) else []


def _sanction_programmes(entity: dict[str, Any]) -> list[str]:
    return _prop(entity, "programId") or _prop(entity, "program")


def _nested_sanctions(entity: dict[str, Any]) -> Iterable[dict[str, Any]]:
    props = entity.get("properties") or {}
    for value in props.get("sanctions", []) if isinstance(props, dict) else []:
        if isinstance(value, dict):
            yield value


def _lines(path: Path, data: bytes) -> list[tuple[int, dict[str, Any]]]:
    out = []
    for n, line in enumerate(decode_text(data, path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise format_error(
                path, FMT, f"line {n}: not JSON ({exc.msg}; truncated download?)"
            ) from exc
        if not isinstance(obj, dict) or not isinstance(obj.get("schema"), str):
            raise format_error(
                path, FMT, f"line {n}: not a FollowTheMoney entity (no 'schema' field)"
            )
        if not clean(str(obj.get("id") or "")):
            raise format_error(path, FMT, f"line {n}: entity without an id")
        out.append((n, obj))
    return out


def _entry(obj: dict[str, Any], programmes: list[str], list_name: str) -> Entry | None:
    schema = obj["schema"]
    source_id = clean(str(obj["id"]))
    names = _prop(obj, "name")
    name = names[0] if names else clean(str(obj.get("caption") or ""))
    if not name:
        return None
    etype, type_tag = SCHEMA_MAP[schema]
    aliases = [*names[1:], *(v for key in ALIAS_PROPERTIES for v in _prop(obj, key))]
    programs = unique_names(programmes)
    topics = [t for t in obj.get("properties", {}).get("topics", []) if isinstance(t, str)]
    notes = [
        f"{label}: {', '.join(values)}"
        for key, label in NOTE_PROPERTIES
        if (values := _prop(obj, key))
    ]
    datasets = [d for d in obj.get("datasets", []) if isinstance(d, str)]
    if datasets:
        notes.append(f"Datasets: {', '.join(datasets)}")
    return Entry(
        id=f"{list_name}:{source_id}",
        name=name,
        type=etype,
        list=list_name,
        aliases=unique_names(aliases, exclude=name),
        tags=unique_names([*program_tags(programs), type_tag, *topics]),
        source=SOURCE,
        source_id=source_id,
        programs=programs,
        notes="; ".join(notes),
        strict=schema in STRICT_SCHEMAS,
        curated=False,
    )


def read_ftm(path: Path, list_name: str) -> ParsedList:
    """The target entities, the newest last_seen/last_change/first_seen, the file's hash."""
    data = read_bytes(path, FMT)
    rows = _lines(path, data)
    programmes: dict[str, list[str]] = {}
    for _n, obj in rows:
        if obj["schema"] == "Sanction":
            for target in _prop(obj, "entity"):
                programmes.setdefault(target, []).extend(_sanction_programmes(obj))
    marks_targets = any("target" in obj for _n, obj in rows)
    entries: list[Entry] = []
    seen: set[str] = set()
    dates: dict[str, list[str]] = {f: [] for f in DATE_FIELDS}
    for n, obj in rows:
        if obj["schema"] not in SCHEMA_MAP or (marks_targets and obj.get("target") is not True):
            continue
        own = [p for s in _nested_sanctions(obj) for p in _sanction_programmes(s)]
        entry = _entry(obj, [*programmes.get(str(obj["id"]), []), *own], list_name)
        if entry is None:
            log.warning("FtM entity without a name skipped path=%s line=%d", path, n)
            continue
        if entry.source_id in seen:
            raise format_error(path, FMT, f"line {n}: duplicate entity id {entry.source_id}")
        seen.add(entry.source_id)
        entries.append(entry)
        for key, values in dates.items():
            if isinstance(obj.get(key), str):
                values.append(obj[key])
    version = next(
        (v for key in DATE_FIELDS if (v := newest_timestamp(key, dates[key])) is not None),
        ListVersion(NO_DATE, note="no last_seen/last_change/first_seen"),
    )
    log.info("parsed FtM entities path=%s lines=%d entries=%d", path, len(rows), len(entries))
    return ParsedList(entries, version, (SourceFile.of(path, data),))
