"""When names of different official entries overlap, the most specific one wins.

Official lists name parents and subsidiaries with the same words: Sberbank of Russia
("PJSC SBERBANK", "SBERBANK OF RUSSIA"), its Belarusian subsidiary ("BPS-SBERBANK OAO",
"SBER BANK"), Sberbank Capital ("SBERBANK CAPITAL LLC"). Listing every one of them for every
mention buries the entry meant. Two rules, for matches of official entries only (curated
entries are chosen by hand and keep every match):

* **Contained:** a match inside a longer match of another entry gives way to it
  ("Sberbank Capital" is Sberbank Capital, not also Sberbank of Russia).
* **A state's name:** a one-word official name on the same words as a curated country
  ("AB ROSSIYA, OAO" of Bank Rossiya on "Росія") is the country, not the bank.
* **Same words:** of matches on exactly the same words, the one whose name stands there
  as written (legal forms are optional: "PJSC SBERBANK" is written "Sberbank") wins over
  one that needed a respelling (the glued "SBER BANK") or scored lower. Equal ones are
  ambiguous: all are listed, each naming the others, so the analyst sees every candidate
  and why.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

from sanctionwatch.matching.index import Candidate, NameIndex
from sanctionwatch.matching.signals import is_official
from sanctionwatch.models import Match

__all__ = ["most_specific"]

Chosen = tuple[Match, Candidate]


def _strength(ix: NameIndex, h: Candidate) -> tuple[float, int]:
    """How directly the name stands in the text: its score before any cap, then whether
    it is written as the alias is (a glued respelling ranks below)."""
    glued = "glued" in ix.derived.get(h.name_id, "")
    return (round(h.score, 1), 0 if glued else 1)


def _label(ix: NameIndex, h: Candidate) -> str:
    return f"{ix.aliases[h.name_id]!r} ({ix.entities[h.entity].name})"


def most_specific(ix: NameIndex, chosen: list[Chosen]) -> list[Chosen]:
    """Drop official matches that a more specific match of another entry covers."""
    official = [c for c in chosen if is_official(ix.entities[c[1].entity])]
    if not official or len(chosen) < 2:
        return chosen
    dropped: set[int] = set()
    notes: dict[int, list[str]] = defaultdict(list)
    for m, h in official:
        one_word = len(ix.name_tokens[h.name_id]) == 1
        for m2, h2 in chosen:
            if h2.entity == h.entity:
                continue
            inside = h2.start_tok <= h.start_tok and h.end_tok <= h2.end_tok
            if inside and (h2.end_tok - h2.start_tok) > (h.end_tok - h.start_tok):
                dropped.add(id(m))  # a part of another entry's longer name
                break
            same = (h2.start_tok, h2.end_tok) == (h.start_tok, h.end_tok)
            if (
                same
                and one_word
                and m2.type == "country"
                and not is_official(ix.entities[h2.entity])
            ):
                dropped.add(id(m))  # the state's name, not a company named after it
                break
    groups: dict[tuple[int, int], list[Chosen]] = defaultdict(list)
    for m, h in official:
        if id(m) not in dropped:
            groups[(h.start_tok, h.end_tok)].append((m, h))
    for group in groups.values():
        if len({h.entity for _m, h in group}) < 2:
            continue
        best = max(_strength(ix, h) for _m, h in group)
        winners = [(m, h) for m, h in group if _strength(ix, h) == best]
        losers = [(m, h) for m, h in group if _strength(ix, h) != best]
        dropped.update(id(m) for m, _h in losers)
        for m, h in winners:
            others = [_label(ix, h2) for _m2, h2 in winners if h2.entity != h.entity]
            if others:
                notes[id(m)].append("ambiguous: the same words also name " + "; ".join(others))
            if losers:
                weaker = "; ".join(_label(ix, h2) for _m2, h2 in losers)
                notes[id(m)].append(f"most specific: written as this name, not as {weaker}")
    out = []
    for m, h in chosen:
        if id(m) in dropped:
            continue
        if id(m) in notes:
            m = replace(m, detail=m.detail + "; " + "; ".join(notes[id(m)]))
        out.append((m, h))
    return out
