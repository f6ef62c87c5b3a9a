"""Domain objects shared by every module. Plain frozen dataclasses, no behaviour beyond helpers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

ENTRY_TYPES = ("person", "organisation", "country", "vessel", "weapon", "keyword")


@dataclass(frozen=True)
class Entry:
    """One watchlist entry: a canonical name with aliases in any script."""

    id: str  # stable id, unique across all lists: "<list>:<slug or source id>"
    name: str  # canonical name, as a person would write it
    type: str  # one of ENTRY_TYPES
    list: str  # watchlist name (file stem, imported list name, or Slack-created list)
    aliases: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    source: str = "editorial"  # e.g. "OFAC SDN", "UN", "EU", "editorial"
    source_id: str = ""  # id in the source list (OFAC ent_num, UN reference, ...)
    programs: tuple[str, ...] = ()  # sanctions programmes (e.g. "DPRK3", "RUSSIA-EO14024")
    notes: str = ""
    added_by: str = ""  # who added it (Slack user / local user) for overlay entries
    # "strict": exact (normalised) matching only, no fuzzy; set for common-word names
    strict: bool = False
    # False for entries imported from official lists: tens of thousands of names nobody
    # reviewed, whose one-word aliases ("SAID", "Fox", "STREAM") are ordinary words.
    curated: bool = True
    # (alias, its languages) for the aliases a watchlist gives only under `aliases_by_lang`:
    # a keyword written in those languages alone ("livre": French) is not the same word in
    # another language's text (Portuguese "livre", free).
    alias_langs: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """The canonical name followed by every alias."""
        return (self.name, *self.aliases)


@dataclass(frozen=True)
class Match:
    """One place in a text where a watchlist entry was found."""

    entity_id: str
    entity: str  # canonical name
    watchlist: str
    alias: str  # which of the entry's names matched
    text: str  # the matched words, exactly as they stand in the input
    field: str  # "title" or "text"
    start: int  # character offsets into that field
    end: int
    score: float  # 0..100
    detail: str  # why: which tokens aligned, how (exact / translit / fuzzy), penalties
    type: str = ""
    tags: tuple[str, ...] = ()
    token_start: int = 0  # word offsets into the field, for rule proximity ("within N words")
    token_end: int = 0
    programs: tuple[str, ...] = ()  # the entry's sanctions programmes, for `programs:` clauses
    sentence: int = 0  # sentence / paragraph number in the field, for rules' `within:`
    paragraph: int = 0


@dataclass(frozen=True)
class Item:
    """One feed item, ready for matching."""

    item_id: str  # stable identity: guid, else normalised link, else hash of title+date
    feed: str
    title: str
    text: str  # summary/description/content as plain text (HTML stripped), size-capped
    link: str | None  # only http(s) URLs survive parsing
    published: datetime | None  # UTC
    guid: str | None = None


@dataclass(frozen=True)
class Example:
    text: str
    should_fire: bool
    lang: str = ""  # optional language tag (examples: {fire: {en: [...], ru: [...]}})


@dataclass(frozen=True)
class Clause:
    """A rule clause: which watchlists/tags/types a match must come from."""

    watchlists: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    programs: tuple[str, ...] = ()  # prefix match on an entry's sanctions programmes
    entities: tuple[str, ...] = ()  # canonical names or entity ids


@dataclass(frozen=True)
class Rule:
    name: str
    file: str
    severity: str  # "low" | "medium" | "high" | "critical"
    channel: str | None  # None: the config's default_channel
    all: tuple[Clause, ...] = ()  # every clause must be satisfied
    any: tuple[Clause, ...] = ()  # at least one clause must be satisfied (if any given)
    none: tuple[Clause, ...] = ()  # no clause may be satisfied
    within_words: int | None = None  # the matches satisfying all/any lie within N words
    within: str | None = None  # "sentence" | "paragraph" | "item": ... within one such unit
    min_score: float = 88.0
    description: str = ""
    examples: tuple[Example, ...] = ()
    digest: str | None = None  # "hourly" | "daily": its alerts wait for the channel's digest


@dataclass(frozen=True)
class Alert:
    """A rule that fired on an item, with the matches that made it fire."""

    rule: str
    severity: str
    channel: str
    matches: tuple[Match, ...] = field(default_factory=tuple)
    explanation: str = ""
    description: str = ""  # the rule's description, in words, for the message
    digest: str | None = None  # the rule's digest period, if it asks for one
