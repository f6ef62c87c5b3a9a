"""Per position of a text, for the candidate search: may two tokens be read as one word
("Nord-Korea", "Shahed 136", "KN 23"), and which longer names continue with the next word."""

from __future__ import annotations

import functools

from sanctionwatch.matching.normalize import Analysed, TextTokens, variant_key
from sanctionwatch.matching.scripts import strip_format

__all__ = ["glue", "glue_flags", "glued_variants", "seconds"]

# Invisible format characters tolerated around the hyphen between two parts of one word.
_MAX_INVISIBLE_IN_GAP = 3
# Hyphen-like characters joining two parts of one word ("Nord-Korea", "Jong‐un").
_HYPHENS = frozenset("-\u2010\u2011\u2012\u2013\u00ad")
# Names with more tokens than this get no glued variants (keeps the index small).
_GLUE_MAX_TOKENS = 4
# Two name parts both this short are glued as an extra variant: Korean given names are
# written "Jong Un", "Jong-un" and "Jongun"; a number is always glued ("KN-23"/"KN23").
_GLUE_PART_LEN = 4


def seconds(
    seen: set[int],
    subs: tuple[dict[str, int | list[int]], ...],
    keys: tuple[str, ...],
    glued: tuple[str, ...],
) -> None:
    """Add the longer names whose first token was met and whose second token is the next
    token (``keys``) or the next two glued (``glued``)."""
    for sub in subs:
        for key2 in (*keys, *glued) if glued else keys:
            ids = sub.get(key2)
            if ids is None:
                continue
            if isinstance(ids, int):
                seen.add(ids)
            else:
                seen.update(ids)


def glue_flags(tt: TextTokens) -> list[bool]:
    """``_may_glue`` of every position (False for the last token), with a fast path for
    the usual one-character gap: most words are neither exact-only nor hyphenated."""
    text, starts, ends, infos = tt.text, tt.starts, tt.ends, tt.infos
    n = len(infos)
    out = [False] * n
    # Without format characters (nothing was stripped) a gap wider than one character is
    # never one hyphen: only the one-character gaps need a look.
    shifted = len(tt.clean) != len(text)
    for j in range(n - 1):
        end = ends[j]
        if starts[j + 1] - end != 1:
            if shifted:
                out[j] = _may_glue(tt, j)
            continue
        b = infos[j + 1]
        gap = text[end]
        if gap in _HYPHENS or b.exact_only:  # else never joined: skip the call
            out[j] = _joins(gap, infos[j], b)
    return out


def _joins(gap: str, a: Analysed, b: Analysed) -> bool:
    """Tokens ``a`` and ``b`` with the one character ``gap`` between them form one name
    part: a hyphen between two non-syllabic words, or a number/code after any gap."""
    if gap in _HYPHENS:
        return not (b.syllabic or a.syllabic)
    return b.exact_only and not b.syllabic and not b.norm.isalpha()


def _may_glue(tt: TextTokens, i: int) -> bool:
    """Text tokens i and i+1 may form one name part: "Nord-Korea", "Shahed 136", "KN 23"."""
    end = tt.ends[i]
    width = tt.starts[i + 1] - end
    if width == 1:
        gap = tt.text[end]
    elif width <= 1 + _MAX_INVISIBLE_IN_GAP:
        gap = strip_format(tt.text[end : tt.starts[i + 1]])  # "Shahed\u200d-136"
        if len(gap) != 1:
            return False
    else:
        return False
    return _joins(gap, tt.infos[i], tt.infos[i + 1])


@functools.lru_cache(maxsize=16_384)
def glue(a: Analysed, b: Analysed) -> Analysed:
    """Two tokens written as one: ("jong", "un") → "jongun"."""
    norm = a.norm + b.norm
    key = variant_key(norm)
    exact = a.exact_only or b.exact_only
    return Analysed(norm, key, key, exact, False, a.cyrillic or b.cyrillic)


def glued_variants(toks: tuple[Analysed, ...]) -> list[tuple[Analysed, ...]]:
    if not 2 <= len(toks) <= _GLUE_MAX_TOKENS:
        return []
    out = []
    for j in range(len(toks) - 1):
        a, b = toks[j], toks[j + 1]
        if a.syllabic or b.syllabic:
            continue
        short = max(len(a.norm), len(b.norm)) <= _GLUE_PART_LEN
        if short or not b.norm.isalpha():
            out.append((*toks[:j], glue(a, b), *toks[j + 2 :]))
    return out
