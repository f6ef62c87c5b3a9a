"""Watchlist YAML files: load and validate them into Entry objects, and dump entries back.

File format (documented for analysts in watchlists/README.md)::

    list: dprk                  # optional; defaults to the file stem
    source: editorial           # optional default source for every entry
    description: ...            # optional, free text
    entries:
      - name: North Korea
        type: country
        aliases: [DPRK, КНДР, 북한]
        tags: [dprk, state]
        ...

Every problem is reported as a WatchlistError naming the file, the entry (number and
name) and the key, with a hint saying what to write instead.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml
from anyascii import anyascii

from sanctionwatch.config.yamlfiles import YAML_SUFFIXES, folder_fingerprint, item_lines, read_yaml
from sanctionwatch.errors import WatchlistError
from sanctionwatch.matching.engine import EntrySource
from sanctionwatch.models import ENTRY_TYPES, Entry
from sanctionwatch.watchlists import cldr

log = logging.getLogger(__name__)

FILE_KEYS = ("list", "source", "description", "entries")
ENTRY_KEYS = (
    "name",
    "type",
    "aliases",
    "tags",
    "source",
    "source_id",
    "programs",
    "notes",
    "strict",
    "added_by",
    "cldr",
    "cldr_exclude",
    "aliases_by_lang",
)
# A language tag of `aliases_by_lang`: ISO 639-1/-3 code, optionally with a script or region
# ("zh-Hant", "pt-BR", "sr-Latn").
_LANG_RE = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,4})?$")
_LIST_KEYS = ("aliases", "tags", "programs", "cldr_exclude")
_TEXT_KEYS = ("source", "source_id", "notes", "added_by")
_LIST_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_BOOL_HINT = "quote it: YAML reads bare yes/no/on/off/true/false as booleans and 1.5 as a number"


def slugify(name: str) -> str:
    """Stable ASCII slug of a name: transliterated, lower case, words joined by '-'."""
    ascii_name = re.sub(r"['\u2019`]", "", anyascii(name).lower())
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name).strip("-")
    return slug or "entry"


def _text(value: Any, where: str, key: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise WatchlistError(
            f"{where}: '{key}' must be text, got {type(value).__name__} {value!r}",
            hint=_BOOL_HINT,
        )
    return str(value).strip()


def _str_list(value: Any, where: str, key: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise WatchlistError(
            f"{where}: '{key}' must be a list, got {type(value).__name__} {value!r}",
            hint=f"write {key}: [first, second] or one '- item' per line",
        )
    if not value and key == "aliases":
        raise WatchlistError(
            f"{where}: 'aliases' is empty", hint="list at least one alias or remove the key"
        )
    out: list[str] = []
    for i, item in enumerate(value, 1):
        if not isinstance(item, str):
            raise WatchlistError(
                f"{where}: {key}[{i}] must be text, got {type(item).__name__} {item!r}",
                hint=_BOOL_HINT,
            )
        if not item.strip():
            raise WatchlistError(f"{where}: {key}[{i}] is empty", hint="remove the empty item")
        out.append(item.strip())
    return tuple(dict.fromkeys(out))  # drop exact repeats, keep order


def aliases_by_lang(raw: Any, where: str) -> dict[str, tuple[str, ...]]:
    """An entry's `aliases_by_lang:` mapping (language tag → aliases), validated.

    The same aliases as `aliases`, but saying which language each belongs to, so that
    coverage per language can be counted and reviewed (tests/test_term_languages.py)."""
    return _aliases_by_lang(raw, where)


def _aliases_by_lang(raw: Any, where: str) -> dict[str, tuple[str, ...]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not raw:
        raise WatchlistError(
            f"{where}: 'aliases_by_lang' must be a mapping of language to aliases, got {raw!r}",
            hint="write aliases_by_lang: {en: [drone, drones], ru: [беспилотник]}",
        )
    out: dict[str, tuple[str, ...]] = {}
    for lang, names in raw.items():
        if not isinstance(lang, str) or not _LANG_RE.match(lang):
            raise WatchlistError(
                f"{where}: aliases_by_lang: '{lang}' is not a language tag",
                hint="use ISO 639 codes such as en, ru, zh-Hant, pt-BR (quote no: 'no')",
            )
        names = [names] if isinstance(names, str) else names
        out[lang] = _str_list(names, f"{where}: aliases_by_lang", lang)
    return out


def _territory_codes(raw: Any, where: str) -> tuple[str, ...]:
    """The entry's `cldr:` value: one territory code or a list of them, each one CLDR knows."""
    if raw is None:
        return ()
    codes = _str_list([raw] if isinstance(raw, str) else raw, where, "cldr")
    for code in codes:
        if not cldr.is_territory(code):
            raise WatchlistError(
                f"{where}: cldr: '{code}' is not a CLDR territory code",
                hint="use ISO 3166 alpha-2 codes in capitals: KP, RU, BY, IR, SY",
            )
    return codes


def _parse_entry(
    raw: Any, where: str, list_name: str, file_source: str
) -> tuple[Entry, tuple[str, ...]]:
    if not isinstance(raw, dict):
        raise WatchlistError(
            f"{where}: an entry must be a mapping with name/type/..., got {raw!r}",
            hint="start each entry with '- name: ...' and indent its other keys",
        )
    if isinstance(raw.get("name"), str) and raw["name"].strip():
        where = f"{where} ('{raw['name'].strip()}')"
    unknown = sorted(str(k) for k in raw if k not in ENTRY_KEYS)
    if unknown:
        raise WatchlistError(
            f"{where}: unknown key '{unknown[0]}'",
            hint=f"entry keys are: {', '.join(ENTRY_KEYS)}",
        )
    for key in ("name", "type"):
        if key not in raw or raw[key] is None or raw[key] == "":
            raise WatchlistError(f"{where}: missing '{key}'", hint=f"every entry needs a {key}")
    name = _text(raw["name"], where, "name")
    etype = _text(raw["type"], where, "type")
    if etype not in ENTRY_TYPES:
        raise WatchlistError(
            f"{where}: unknown type '{etype}'",
            hint=f"type must be one of {', '.join(ENTRY_TYPES)}",
        )
    lists = {key: _str_list(raw[key], where, key) for key in _LIST_KEYS if key in raw}
    texts = {key: _text(raw[key], where, key) for key in _TEXT_KEYS if raw.get(key) is not None}
    strict = raw.get("strict", False)
    if not isinstance(strict, bool):
        raise WatchlistError(
            f"{where}: 'strict' must be true or false, got {strict!r}",
            hint="write strict: true for common words that must match exactly",
        )
    # Languages in code order (a region or script dropped), so that a dumped file, which
    # groups the aliases by language, reads back with the aliases in the same order.
    by_lang: dict[str, list[str]] = {}
    for tag, names in _aliases_by_lang(raw.get("aliases_by_lang"), where).items():
        by_lang.setdefault(tag.split("-")[0].lower(), []).extend(names)
    anywhere = {name, *lists.get("aliases", ())}
    langs_of: dict[str, dict[str, None]] = {}
    for lang in sorted(by_lang):
        for alias in by_lang[lang]:
            if alias not in anywhere:
                langs_of.setdefault(alias, {})[lang] = None
    merged = (*lists.get("aliases", ()), *langs_of)
    aliases = tuple(a for a in dict.fromkeys(merged) if a != name)
    codes = _territory_codes(raw.get("cldr"), where)
    exclude = lists.get("cldr_exclude", ())
    if exclude and not codes:
        raise WatchlistError(
            f"{where}: 'cldr_exclude' without 'cldr'", hint="add cldr: [CODE] or drop the key"
        )
    place_names = cldr.expand(codes, exclude) if codes else ()
    entry = Entry(
        id=f"{list_name}:{slugify(name)}",
        name=name,
        type=etype,
        list=list_name,
        aliases=aliases,
        tags=tuple(t.lower() for t in lists.get("tags", ())),
        source=texts.get("source") or file_source,
        source_id=texts.get("source_id", ""),
        programs=lists.get("programs", ()),
        notes=texts.get("notes", ""),
        added_by=texts.get("added_by", ""),
        strict=strict,
        alias_langs=tuple((alias, tuple(langs)) for alias, langs in langs_of.items()),
    )
    return entry, place_names


def _with_place_names(pairs: Sequence[tuple[Entry, tuple[str, ...]]]) -> list[Entry]:
    """Add each entry's CLDR names as aliases, minus names another entry also has.

    A CLDR name equal (by `cldr.fold`) to a curated name or alias of another entry, or to a
    CLDR name of another entry, is dropped for every CLDR entry: the name alone cannot say
    which one is meant, and the curated entry was written knowing it.
    """
    curated: dict[str, set[str]] = {}
    from_cldr: dict[str, set[str]] = {}
    for entry, names in pairs:
        for n in (entry.name, *entry.aliases):
            curated.setdefault(cldr.fold(n), set()).add(entry.id)
        for n in names:
            from_cldr.setdefault(cldr.fold(n), set()).add(entry.id)
    out: list[Entry] = []
    for entry, names in pairs:
        if not names:
            out.append(entry)
            continue
        keep: list[str] = []
        for n in names:
            key = cldr.fold(n)
            others = (curated.get(key, set()) | from_cldr[key]) - {entry.id}
            if others:
                log.debug("cldr name dropped entry=%s name=%s also=%s", entry.id, n, sorted(others))
                continue
            keep.append(n)
        # the aliases of no particular language first, as a dumped file reads back
        langs = dict(entry.alias_langs)
        plain = (a for a in entry.aliases if a not in langs)
        added = (n for n in keep if n != entry.name and n not in langs)
        by_lang = (a for a in entry.aliases if a in langs)
        aliases = tuple(dict.fromkeys((*plain, *added, *by_lang)))
        out.append(
            replace(
                entry,
                aliases=aliases,
                source=f"{entry.source}; place names: {cldr.CLDR_SOURCE}",
            )
        )
    return out


def _load_file(path: Path) -> list[tuple[Entry, tuple[str, ...]]]:
    """One file's entries, each with its CLDR place names not yet merged in."""
    data, node = read_yaml(path, WatchlistError)
    if not isinstance(data, dict):
        raise WatchlistError(
            f"{path}: expected a mapping with an 'entries' list, got {type(data).__name__}",
            hint="start the file with 'entries:' (optionally list:, source:, description:)",
        )
    unknown = sorted(str(k) for k in data if k not in FILE_KEYS)
    if unknown:
        raise WatchlistError(
            f"{path}: unknown top-level key '{unknown[0]}'",
            hint=f"top-level keys are: {', '.join(FILE_KEYS)}",
        )
    list_name = _text(data.get("list") or path.stem, str(path), "list").lower()
    if not _LIST_NAME_RE.match(list_name):
        raise WatchlistError(
            f"{path}: list name '{list_name}' is not valid",
            hint="use lower-case letters, digits, '-' and '_' (e.g. dprk, russia-arms)",
        )
    file_source = _text(data.get("source") or "editorial", str(path), "source")
    raw_entries = data.get("entries")
    if not isinstance(raw_entries, list) or not raw_entries:
        raise WatchlistError(
            f"{path}: 'entries' must be a non-empty list",
            hint="add entries as '- name: ...' items under 'entries:'",
        )
    lines = item_lines(node, "entries")
    pairs: list[tuple[Entry, tuple[str, ...]]] = []
    entries: list[Entry] = []
    seen_names: dict[str, int] = {}
    seen_ids: dict[str, int] = {}
    for i, raw in enumerate(raw_entries, 1):
        line = f", line {lines[i - 1]}" if i - 1 < len(lines) else ""
        where = f"{path}: entry {i}{line}"
        entry, place_names = _parse_entry(raw, where, list_name, file_source)
        for seen, key in ((seen_names, entry.name.casefold()), (seen_ids, entry.id)):
            if key in seen:
                first = entries[seen[key] - 1]
                raise WatchlistError(
                    f"{path}: entry {i} ('{entry.name}') duplicates entry {seen[key]} "
                    f"('{first.name}', id {first.id})",
                    hint="merge them into one entry, moving extra spellings into aliases",
                )
            seen[key] = i
        entries.append(entry)
        pairs.append((entry, place_names))
    log.debug("watchlist loaded file=%s list=%s entries=%d", path, list_name, len(entries))
    return pairs


def load_watchlist_file(path: Path) -> list[Entry]:
    """Load and validate one watchlist file. Raises WatchlistError naming file/entry/key.

    CLDR place names are checked for collisions within this file only; `load_watchlists`
    checks them across the whole folder."""
    return _with_place_names(_load_file(Path(path)))


def load_watchlists(folder: Path) -> list[Entry]:
    """Load every *.yaml / *.yml file in `folder` (sorted by name)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise WatchlistError(
            f"{folder}: watchlist folder does not exist",
            hint="set 'watchlists' in the config to a folder of *.yaml watchlist files",
        )
    files = sorted(p for p in folder.iterdir() if p.suffix in YAML_SUFFIXES and p.is_file())
    pairs: list[tuple[Entry, tuple[str, ...]]] = []
    owner: dict[str, Path] = {}
    for path in files:
        loaded = _load_file(path)
        list_name = loaded[0][0].list
        if list_name in owner:
            raise WatchlistError(
                f"{path}: list '{list_name}' is already defined by {owner[list_name]}",
                hint="give each file its own 'list:' name, or merge the two files",
            )
        owner[list_name] = path
        pairs.extend(loaded)
    entries = _with_place_names(pairs)
    log.info("watchlists loaded folder=%s files=%d entries=%d", folder, len(files), len(entries))
    return entries


def dump_watchlist(entries: Sequence[Entry], list_name: str) -> str:
    """YAML text in the watchlist file format; load_watchlist_file reads it back unchanged."""
    sources = {e.source for e in entries}
    file_source = sources.pop() if len(sources) == 1 else ""
    doc: dict[str, Any] = {"list": list_name}
    if file_source:
        doc["source"] = file_source
    doc["entries"] = [entry_item(e, file_source) for e in entries]
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=100)


def entry_item(e: Entry, file_source: str) -> dict[str, Any]:
    """One entry as a watchlist file writes it (keys in the documented order; ``source``
    only when it differs from the file's)."""
    item: dict[str, Any] = {"name": e.name, "type": e.type}
    langs = dict(e.alias_langs)  # aliases given only under some languages stay there
    if any(a not in langs for a in e.aliases):
        item["aliases"] = [a for a in e.aliases if a not in langs]
    by_lang: dict[str, list[str]] = {}
    for alias, codes in e.alias_langs:
        for code in codes:
            by_lang.setdefault(code, []).append(alias)
    if by_lang:
        item["aliases_by_lang"] = {code: by_lang[code] for code in sorted(by_lang)}
    if e.tags:
        item["tags"] = list(e.tags)
    if e.source != file_source:
        item["source"] = e.source
    for key, value in (
        ("source_id", e.source_id),
        ("programs", list(e.programs)),
        ("notes", e.notes),
        ("added_by", e.added_by),
    ):
        if value:
            item[key] = value
    if e.strict:
        item["strict"] = True
    return item


def file_source(folder: Path) -> EntrySource:
    """The versioned baseline as an engine entry source: every YAML file in ``folder``."""
    return EntrySource(
        name="files",
        fingerprint=lambda _db: folder_fingerprint(folder),
        load=lambda _db: load_watchlists(folder),
    )
