"""Human explanations of matches (``bot.py match``, alert details): which alias token met
which text word, and how (exact, variant, inflected, lemma, affix, fuzzy)."""

from __future__ import annotations

from sanctionwatch.matching.index import Candidate, NameIndex
from sanctionwatch.matching.normalize import TextTokens


def describe(ix: NameIndex, h: Candidate, text: str, tt: TextTokens) -> str:
    """Human explanation of one match: which tokens aligned to which, and how."""
    toks = ix.name_tokens[h.name_id]
    parts = []
    for a, s in zip(toks, h.steps, strict=True):
        surface = text[tt.starts[s.first] : tt.ends[s.last - 1]]
        how = s.how
        if s.how == "fuzzy":
            how = f"fuzzy, {s.edits} edit{'s' if s.edits != 1 else ''}, {s.score:.0f}"
        elif s.how != "exact":
            how = f"{s.how}, {s.score:.0f}"
        parts.append(f"{a.norm}={surface!r} ({how})")
    alias = ix.aliases[h.name_id]
    notes = [f"alias {alias!r}: " + "; ".join(parts)]
    why = ix.derived.get(h.name_id)
    if why:
        notes.append(f"indexed as {why}")
    if len(toks) == 1:
        notes.append("single-token match: the rule's context decides")
    last = h.end_tok - 1
    if h.end_tok < len(tt.infos) and tt.words[h.end_tok] == tt.words[last]:
        rest_end = h.end_tok
        while rest_end < len(tt.infos) and tt.words[rest_end] == tt.words[last]:
            rest_end += 1
        particle = text[tt.starts[h.end_tok] : tt.ends[rest_end - 1]]
        notes.append(f"Korean particle/suffix after the name: {particle!r}")
    if ix.entities.strict[h.entity]:
        notes.append("strict entry: exact matches only")
    return "; ".join(notes) + f"; score {h.score:.1f}"
