"""One-word aliases from official lists: ordinary words need a second signal.

Official lists (OFAC SDN, UN, Canada, OpenSanctions: every entry an importer writes carries
``curated=False`` and its list id as ``Entry.list``) hold tens of thousands of one-word
aliases nobody reviewed for news text: "Fox", "Justice", "Editor" are nicknames, former
vessel names or pen names there, and ordinary headline words everywhere else. Curated
watchlists (``watchlists/*.yaml``) keep their one-word names (Putin, Wagner with its own
guards): someone chose them for the news.

So a one-token match of an official entry (a one-word alias, or a core such as "Sberbank"
of "PJSC SBERBANK") whose word is an ordinary word of the item's language or of English
(simplemma's dictionary knows it) is *held*: it is listed only when the item carries a
second signal for the same entry:

* another name of the same entry matched in the item (title or text);
* the entry's country named in the item: the countries of its sanctions programmes
  (``PROGRAM_COUNTRIES``), met by a country entry of the curated watchlists;
* a word for the entry's kind of thing (``TYPE_WORDS``): "tanker" for a vessel;
* a rule that asks for official one-word matches and fires with it (``rulecontext``,
  applied by ``Engine.match``).

Held or not, an official one-word match scores at most ``OFFICIAL_SINGLE_WORD_SCORE``,
below the rules' default min_score: only a rule that asks for such matches uses them.
A distinctive one-word name ("Sberbank", "Rosoboronexport") needs no second signal to be
listed: the dictionary does not know it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import NamedTuple

from sanctionwatch.matching.index import Candidate, NameIndex
from sanctionwatch.matching.lemmas import KNOWN_WORD_LANGS, is_known
from sanctionwatch.matching.normalize import normalize_name
from sanctionwatch.matching.scripts import script_of
from sanctionwatch.models import Match

log = logging.getLogger(__name__)

__all__ = [
    "OFFICIAL_SINGLE_WORD_SCORE",
    "PROGRAM_COUNTRIES",
    "TYPE_WORDS",
    "Held",
    "confirm",
    "countries_of",
    "foreign_word",
    "is_official",
    "is_ordinary",
    "needs_signal",
]

# Below the rules' default min_score (88), above the matcher's MIN_REPORT_SCORE (75): an
# official one-word match is shown, but a default rule never fires on it alone.
OFFICIAL_SINGLE_WORD_SCORE = 80.0
# The language every official list's aliases are written in besides their own: a word
# English knows ("Fox", "Justice") is an ordinary word in an English headline.
FALLBACK_LANG = "en"
# (word, language) answers kept: the one-word official matches of a day's news repeat.
_ORDINARY_CACHE = 16_384
# Sanctions programme (its name up to the first "-" or digit) → the country it is about,
# as the curated country entries name it. Only programmes about one state are listed.
PROGRAM_COUNTRIES: dict[str, tuple[str, ...]] = {
    "RUSSIA": ("Russia",),
    "UKRAINE": ("Russia", "Ukraine"),  # UKRAINE-EO13660..13685: Russia-related designations
    "BELARUS": ("Belarus",),
    "IRAN": ("Iran",),
    "IFSR": ("Iran",),
    "IRGC": ("Iran",),
    "DPRK": ("North Korea",),
    "NK": ("North Korea",),
    "SYRIA": ("Syria",),
    "CUBA": ("Cuba",),
    "VENEZUELA": ("Venezuela",),
    "BURMA": ("Myanmar",),
    "IRAQ": ("Iraq",),
    "LIBYA": ("Libya",),
    "SUDAN": ("Sudan",),
    "LEBANON": ("Lebanon",),
    "CAR": ("Central African Republic",),
    "SOMALIA": ("Somalia",),
    "YEMEN": ("Yemen",),
    "MALI": ("Mali",),
    "NICARAGUA": ("Nicaragua",),
}
# Words that say what kind of thing an entry is (normalised forms, English and the
# transliterated Russian/French/German/Spanish words the press uses). People have none:
# "Mr" or a job title says nothing about which person.
TYPE_WORDS: dict[str, frozenset[str]] = {
    "vessel": frozenset(
        "vessel vessels ship ships tanker tankers freighter cargo bulker carrier mv imo "
        "sudno tanker navire petrolier schiff frachter buque barco".split()
    ),
    "organisation": frozenset(
        "company companies firm firms corporation bank banks subsidiary manufacturer "
        "supplier conglomerate kompaniya bank firma societe entreprise unternehmen "
        "empresa".split()
    ),
}


class Held(NamedTuple):
    """A one-word official match waiting for a second signal."""

    match: Match
    entity: int  # index into NameIndex.entities
    field: int  # which of the item's fields it is in


def is_official(ix: NameIndex, ent: int) -> bool:
    """Is entity ``ent`` from an imported official list (importers set curated=False), not a
    curated file? Read from its column: no row is built."""
    return not ix.entities.curated[ent]


def countries_of(programs: Iterable[str]) -> frozenset[str]:
    """The normalised country names a sanctions programme list is about."""
    out: set[str] = set()
    for program in programs:
        head = program.upper().split("-")[0].rstrip("0123456789")
        out.update(normalize_name(c) for c in PROGRAM_COUNTRIES.get(head, ()))
    return frozenset(out)


@functools.lru_cache(maxsize=_ORDINARY_CACHE)
def is_ordinary(word: str, lang: str) -> bool:
    """Does a dictionary of the item's language or of English know this word? A word in
    Cyrillic letters is also asked of the Cyrillic languages' dictionaries (such items have
    no detected language: they are not lemmatised)."""
    forms = {word, word.lower()}
    cyrillic = KNOWN_WORD_LANGS if script_of(word) == "CYRILLIC" else ()
    codes = dict.fromkeys((lang, FALLBACK_LANG, *cyrillic))
    return any(is_known(code, w) for code in codes for w in forms)


def foreign_word(ix: NameIndex, h: Candidate, words: str, lang: str) -> bool:
    """Is a keyword written only in other languages (its watchlist's ``aliases_by_lang``)
    met by a word of the item's own language? The Portuguese "livre" (free) is not the
    French "livre" (delivers), nor the Spanish "cargo" (post) the French and Italian ship.
    Only common words are asked (aliases in lower case: a place such as "Moscova" is the
    same place in a Turkish text), and not an alias given without a language, nor an item
    of no known language."""
    langs = ix.alias_langs.get(h.name_id)
    if langs is None or not lang or lang in langs:
        return False
    return is_known(lang, words)


def needs_signal(ix: NameIndex, words: str, h: Candidate, lang: str) -> bool:
    """Is this an official one-token match (on ``words`` as written) of an ordinary word
    ("Fox", "Justice")?"""
    if not is_official(ix, h.entity) or ix.name_tokens.sizes[h.name_id] != 1:
        return False
    return is_ordinary(words, lang)


def confirm(
    ix: NameIndex, held: Sequence[Held], listed: Sequence[Match], words: set[str]
) -> list[Held]:
    """The held matches that have a second signal in the item, their detail saying which.

    ``listed``: the item's matches that need no signal; ``words``: the normalised words of
    the item (title and text).
    """
    entities = {m.entity_id for m in listed}
    countries = {normalize_name(m.entity) for m in listed if m.type == "country"}
    out = []
    for h in held:
        ref = ix.entities[h.entity]
        signal = ""
        if ref.id in entities:
            signal = "another name of the same entry in the item"
        elif found := sorted(countries & countries_of(ref.programs)):
            signal = f"its country in the item ({', '.join(found)})"
        elif found := sorted(TYPE_WORDS.get(ref.type, frozenset()) & words):
            signal = f"a word for its kind in the item ({', '.join(found)})"
        if signal:
            detail = f"{h.match.detail}; ordinary word, listed on a second signal: {signal}"
            out.append(h._replace(match=replace(h.match, detail=detail)))
        else:
            log.debug("one-word official alias held back entity=%s text=%r", ref.id, h.match.text)
    return out
