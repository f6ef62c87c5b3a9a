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

from sanctionwatch.matching.index import Candidate, NameIndex
from sanctionwatch.matching.signals import is_official

__all__ = ["most_specific"]


def _strength(ix: NameIndex, h: Candidate) -> tuple[float, int]:
    """How directly the name stands in the text: its score before any cap, then whether
    it is written as the alias is (a glued respelling ranks below)."""
    glued = "glued" in ix.derived.get(h.name_id, "")
    return (round(h.score, 1), 0 if glued else 1)


def _label(ix: NameIndex, h: Candidate) -> str:
    return f"{ix.aliases[h.name_id]!r} ({ix.entities[h.entity].name})"


def most_specific(ix: NameIndex, chosen: list[Candidate]) -> list[tuple[Candidate, str]]:
    """Drop official matches that a more specific match of another entry covers; each kept
    match comes with the notes to append to its detail ("" for most)."""
    official = [k for k, h in enumerate(chosen) if is_official(ix, h.entity)]
    if not official or len(chosen) < 2:
        return [(h, "") for h in chosen]
    dropped: set[int] = set()
    notes: dict[int, list[str]] = defaultdict(list)
    for k in official:
        h = chosen[k]
        one_word = ix.name_tokens.sizes[h.name_id] == 1
        for h2 in chosen:
            if h2.entity == h.entity:
                continue
            inside = h2.start_tok <= h.start_tok and h.end_tok <= h2.end_tok
            if inside and (h2.end_tok - h2.start_tok) > (h.end_tok - h.start_tok):
                dropped.add(k)  # a part of another entry's longer name
                break
            same = (h2.start_tok, h2.end_tok) == (h.start_tok, h.end_tok)
            other = ix.entities[h2.entity]
            if same and one_word and other.type == "country" and not is_official(ix, h2.entity):
                dropped.add(k)  # the state's name, not a company named after it
                break
    groups: dict[tuple[int, int], list[int]] = defaultdict(list)
    for k in official:
        if k not in dropped:
            groups[(chosen[k].start_tok, chosen[k].end_tok)].append(k)
    for group in groups.values():
        if len({chosen[k].entity for k in group}) < 2:
            continue
        best = max(_strength(ix, chosen[k]) for k in group)
        winners = [k for k in group if _strength(ix, chosen[k]) == best]
        losers = [k for k in group if _strength(ix, chosen[k]) != best]
        dropped.update(losers)
        for k in winners:
            h = chosen[k]
            others = [_label(ix, chosen[w]) for w in winners if chosen[w].entity != h.entity]
            if others:
                notes[k].append("ambiguous: the same words also name " + "; ".join(others))
            if losers:
                weaker = "; ".join(_label(ix, chosen[q]) for q in losers)
                notes[k].append(f"most specific: written as this name, not as {weaker}")
    return [
        (h, "; " + "; ".join(notes[k]) if k in notes else "")
        for k, h in enumerate(chosen)
        if k not in dropped
    ]
