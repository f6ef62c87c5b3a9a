"""What one text word can start, worked out once per (language, word) and reused.

News repeats its vocabulary: the same word ("Russian", "sanctions", "the") comes back in
every item, and the names it may start are the same each time. Checking each such name
against the word again at every position was most of the matcher's verification work:
"Russian" is one fuzzy edit from a dozen spellings of Russia, and each was verified, and
failed, wherever the word stood.

A ``TokenPlan`` records, for one analysed word in one language:

* its look-up keys (with its lemma's keys in a lemmatised language): what the next
  position's two-word names look for;
* the second-word tables of the longer names it may start;
* the one-word names it *is*: already verified, with how it met them;
* the one-word names filed under its keys that it is not: only gluing it to the next word
  ("Nord-Korea") may still make one of them, so they are verified again only where the
  text allows that.

The result of a one-word name against one word depends on the word, the name and the
language only (never on the position), so the plan gives exactly what verifying at every
position gave. Plans are keyed by the word's ``Analysed`` object (one per word, see
``normalize.analyse_word``): per process, never pickled, cleared when the cache is full.
"""

from __future__ import annotations

from typing import NamedTuple

from sanctionwatch.matching.index import NameIndex, Step, compare_tokens, lemma_step
from sanctionwatch.matching.normalize import Analysed
from sanctionwatch.matching.tables import Starts

__all__ = ["PLAN_CACHE_MAX", "SECONDS_SET_MAX", "TokenPlan", "token_plan"]

# Plans kept per process (all languages together); the cache is cleared when full and
# refills from the next items' words. About 1 kB each at most: the word's keys and ids.
PLAN_CACHE_MAX = 200_000


# A word that may start longer names keeps the union of their second words' keys, to
# rule out most positions with one set operation, while that union is at most this big
# (the second-word tables of "the" or "al" are far bigger; those are looked up key by key).
SECONDS_SET_MAX = 512


class TokenPlan(NamedTuple):
    keys: tuple[str, ...]
    subs: tuple[dict[str, int | list[int]], ...]
    # one-word names this word is: (name id, entity, how, score, edits) of its Step
    ok: tuple[tuple[int, int, str, float, int], ...]
    fail: tuple[int, ...]  # one-word names under its keys that it is not, by itself
    empty: bool  # starts nothing at all (most words)
    # the keys of every second word in ``subs`` (None: too many to keep, or no subs)
    seconds: frozenset[str] | None


def token_plan(
    ix: NameIndex, t: Analysed, lemma: Analysed | None, lang: str, min_score: float
) -> TokenPlan:
    """The plan of word ``t`` (its lemma ``lemma``) in a text in ``lang`` ("" when the
    text is not lemmatised). ``min_score``: one-word hits scoring below it are dropped."""
    by_lang = ix._plan_cache.get(lang)
    if by_lang is None:
        by_lang = ix._plan_cache[lang] = {}
    cached: TokenPlan | None = by_lang.get(t)
    if cached is not None:
        return cached
    keys = ix.lookup_keys(t)
    starts: Starts
    if lang:
        extra = ix.lemma_lookup(t, lemma, lang)
        if extra:
            keys = (*keys, *extra)
            starts = ix.name_starts(keys)
        else:
            starts = ix.token_starts(t)
    else:
        starts = ix.token_starts(t)
    ids, subs = starts
    ok: list[tuple[int, int, str, float, int]] = []
    fail: list[int] = []
    for name_id in dict.fromkeys(ids):  # one name may be filed under two of the keys
        a = ix.name_tokens[name_id][0]
        ent = ix.name_entity[name_id]
        step: Step | None = compare_tokens(a, t, ix.entities[ent].strict, True)
        if step is None and lang:
            step = lemma_step(lang, a, t, lemma)
        if step is not None and step.score >= min_score:
            ok.append((name_id, ent, step.how, step.score, step.edits))
        else:
            fail.append(name_id)
    seconds = None
    if subs and sum(len(sub) for sub in subs) <= SECONDS_SET_MAX:
        seconds = frozenset(k for sub in subs for k in sub)
    plan = TokenPlan(keys, subs, tuple(ok), tuple(fail), not ids and not subs, seconds)
    if sum(len(d) for d in ix._plan_cache.values()) >= PLAN_CACHE_MAX:
        ix._plan_cache.clear()
        ix._plan_cache[lang] = by_lang = {}
    by_lang[t] = plan
    return plan
