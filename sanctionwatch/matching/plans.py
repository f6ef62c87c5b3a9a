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

Likewise a two-word name ("North Korea") at a position where neither word may be glued to
the next depends on the two words only: ``pair_result`` verifies it once per pair.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sanctionwatch.matching.index import Candidate, NameIndex, Step, compare_tokens, with_lemma
from sanctionwatch.matching.normalize import Analysed, TextTokens

__all__ = [
    "PAIR_CACHE_MAX",
    "PLAN_CACHE_MAX",
    "SECONDS_SET_MAX",
    "TokenPlan",
    "pair_result",
    "token_plan",
]

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
    # one-word names this word is: (name id, entity, how, score, edits) of its Step; of
    # several aliases of one entity that the guards treat alike, only the first (``_first_alike``)
    ok: tuple[tuple[int, int, str, float, int], ...]
    ok_ids: tuple[int, ...]  # every one-word name this word is (``ok`` before that choice)
    fail: tuple[int, ...]  # one-word names under its keys that it is not, by itself
    empty: bool  # starts nothing at all (most words)
    # the keys of every second word in ``subs`` (None: too many to keep, or no subs)
    seconds: frozenset[str] | None


def token_plan(
    ix: NameIndex, t: Analysed, lemma: Analysed | None, lang: str, min_score: float
) -> TokenPlan:
    """The plan of word ``t`` (its lemma ``lemma``) in a text in ``lang`` ("" when the
    text is not lemmatised). ``min_score``: one-word hits scoring below it are dropped."""
    cached: TokenPlan | None = ix._plan_cache.get(lang, _NONE).get(t)
    if cached is not None:
        return cached
    keys = ix.lookup_keys(t)
    if lang:
        keys = (*keys, *ix.lemma_lookup(t, lemma, lang))
    ids, subs = ix.name_starts(keys)  # kept in the plan: not in the index's starts cache
    ok: list[tuple[int, int, str, float, int]] = []
    fail: list[int] = []
    for name_id in dict.fromkeys(ids):  # one name may be filed under two of the keys
        a = ix.name_tokens[name_id][0]
        ent = ix.name_entity[name_id]
        step: Step | None = compare_tokens(a, t, ix.entities.strict[ent], True)
        if lang:
            step = with_lemma(step, lang, a, t, lemma)
        if step is not None and step.score >= min_score:
            ok.append((name_id, ent, step.how, step.score, step.edits))
        else:
            fail.append(name_id)
    seconds = None
    if subs and sum(len(sub) for sub in subs) <= SECONDS_SET_MAX:
        seconds = frozenset(k for sub in subs for k in sub)
    ok_ids = tuple(entry[0] for entry in ok)
    first = _first_alike(ix, ok) if len(ok) > 1 else tuple(ok)
    plan = TokenPlan(keys, subs, first, ok_ids, tuple(fail), not ids and not subs, seconds)
    _room(ix._plan_cache, lang, PLAN_CACHE_MAX)[t] = plan
    return plan


_NONE: dict[Any, Any] = {}  # an empty cache to read from (never written)


def guard_signature(ix: NameIndex, name_id: int) -> tuple[object, ...]:
    """What ``Matcher._select`` reads of a one-word name met by one word, besides its score
    and alias order: its entity, the base it declines (``_inflection_ok``) and its alias's
    casing and word count (``_guard_single_word``)."""
    alias = ix.aliases[name_id]
    base = ix.inflected.get(name_id)
    return (ix.name_entity[name_id], base, alias != alias.lower(), len(alias.split()) == 1)


def _first_alike(
    ix: NameIndex, ok: list[tuple[int, int, str, float, int]]
) -> tuple[tuple[int, int, str, float, int], ...]:
    """Of the one-word names a word is, one per ``guard_signature``: the one ``_select``
    tries first (best score, then alias, then name id). The others would never be kept: at
    one position all of them cover the same word, so once the first is kept they overlap it,
    and a guard that drops the first drops each of them too (it reads only the signature,
    the word and the score). "Russia" and its nine spellings that the variant rules make
    the same key were ten candidates at every "Russia"; now one."""
    best: dict[tuple[object, ...], tuple[int, int, str, float, int]] = {}
    for entry in ok:
        sig = guard_signature(ix, entry[0])
        have = best.get(sig)
        if have is None or _order(ix, entry) < _order(ix, have):
            best[sig] = entry
    return tuple(sorted(best.values(), key=lambda e: e[0]))


def _order(ix: NameIndex, entry: tuple[int, int, str, float, int]) -> tuple[float, str, int]:
    return (-entry[3], ix.aliases[entry[0]], entry[0])


def _room(caches: dict[str, dict[Any, Any]], lang: str, limit: int) -> dict[Any, Any]:
    """The language's cache, with room for one more entry: all languages' caches are
    cleared together once they hold ``limit`` entries (they refill from the next items)."""
    if sum(len(d) for d in caches.values()) >= limit:
        caches.clear()
    return caches.setdefault(lang, {})


# Two-word results kept per process (name id and the two words); cleared when full.
PAIR_CACHE_MAX = 100_000
_NO_PAIR = (0.0, ())  # the pair is not the name


def _never_glue(_tt: TextTokens, _p: int) -> bool:
    return False


def pair_result(
    ix: NameIndex, name_id: int, tt: TextTokens, i: int, lang: str, min_score: float
) -> Candidate | None:
    """``NameIndex.verify`` of a two-word name at word ``i`` where neither word may be
    glued to the next: it depends on the name and the two words (their lemmas are theirs in
    ``lang``), so it is worked out once per pair and reused at every position."""
    infos = tt.infos
    key = (name_id, infos[i], infos[i + 1])
    got: tuple[float, tuple[tuple[str, float, int], ...]] | None
    got = ix._pair_cache.get(lang, _NONE).get(key)
    if got is None:
        hit = ix.verify(name_id, tt, i, _never_glue)
        if hit is None or hit.score < min_score:
            got = _NO_PAIR
        else:
            got = (hit.score, tuple((s.how, s.score, s.edits) for s in hit.steps))
        _room(ix._pair_cache, lang, PAIR_CACHE_MAX)[key] = got
    score, steps = got
    if not steps:
        return None
    (h0, s0, e0), (h1, s1, e1) = steps
    return Candidate(
        name_id,
        ix.name_entity[name_id],
        i,
        i + 2,
        score,
        (Step(h0, s0, i, i + 1, e0), Step(h1, s1, i + 1, i + 2, e1)),
    )
