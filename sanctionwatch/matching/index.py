"""The name index behind ``Matcher``: how names are stored, looked up and verified.

Layout (all plain dicts and lists so it pickles and loads fast):

* ``singles[key]``: ids of one-token names whose token has that lookup key.
* ``pairs[key1][key2]``: ids of longer names by their first two tokens.
* fuzzy words (first/second tokens of fuzzy-eligible names), found within the edit
  budget of a text word by ``fuzzyindex.FuzzyWords`` (deletion index and long-word scan).

A lookup key is the token's ``block`` (``normalize.Analysed``): the romanisation key, or
for Cyrillic words the stem's key. A text token is looked up under its key, its block and
its fuzzy neighbours; every candidate is then verified token by token.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from sanctionwatch.matching.fuzzyindex import FuzzyWords
from sanctionwatch.matching.legalforms import alias_forms
from sanctionwatch.matching.lemmaindex import LemmaKeys, inflected_bases, lemmatisable, same_lemma
from sanctionwatch.matching.lemmas import (
    KNOWN_WORD_LANGS,
    LEMMA_LANGS,
    is_known,
    lemma_of,
)
from sanctionwatch.matching.nametable import (
    EntityRef,
    EntityTable,
    NameTokens,
    pack_strings,
    unpack_strings,
)
from sanctionwatch.matching.normalize import (
    CYRILLIC_ENDINGS_ASCII,
    Analysed,
    TextTokens,
    alias_word,
    analyse_text,
    astuple,
)
from sanctionwatch.matching.positions import glue, glued_variants
from sanctionwatch.matching.scripts import one_script
from sanctionwatch.matching.tables import Starts, file_id, starts_of
from sanctionwatch.models import Entry

log = logging.getLogger(__name__)

# Tokens shorter than this match only exactly (or by a romanisation key): "Il" vs "Un",
# "Iran" vs "Iraq", "Kim" vs "Kin" differ by one letter and are different names.
FUZZY_MIN_LEN = 5
# Edits allowed between an alias token and a text token (Levenshtein, on the keys), by
# alias token length: one typo in 5-8 letters ("Lukashenka"/"Lukashenko" is a variant
# too), two in 9+ ("Rosoboronexport"/"Rosoboronexprot"). "North"/"South" (2 edits in 5)
# and "Shoigu"/"Shogun" stay apart.
LONG_TOKEN_LEN = 9
# French writes Russian ш as "ch" (Choïgou, Chamanov) where English writes "sh": a name's
# first letter may differ between these two onsets only; the edit budget still applies.
SIBILANT_ONSETS = frozenset({"ch", "sh"})
EDITS_SHORT, EDITS_LONG = 1, 2
# Two Cyrillic stems this long that differ only by one trailing letter are one word.
STEM_PREFIX_MIN = 4
# Cyrillic alias tokens are also filed under this many letters of their stem, so declined
# text forms (whose stem may be one letter longer) find them.
STEM_KEY_LEN = 4
# Token scores. Deterministic normalisations (romanisation table, Russian case endings)
# score above every fuzzy hit; a fuzzy token scores its rapidfuzz ratio, capped so that
# it never outranks a deterministic one.
VARIANT_SCORE = 97.0
INFLECTED_SCORE = 95.0
FUZZY_MAX_SCORE = 92.0
# The per-token look-up cache is per process; cleared when it reaches this many tokens.
_LOOKUP_CACHE_MAX = 200_000
# Entry types whose declined one-word aliases are checked against the text's language.
INFLECTION_GUARDED_TYPES = frozenset({"person", "weapon"})


class Step(NamedTuple):
    """How one alias token met the text."""

    how: str  # exact / transliterated / variant / inflected / fuzzy
    score: float
    first: int  # text token range [first, last)
    last: int
    edits: int


class Candidate(NamedTuple):
    name_id: int
    entity: int
    start_tok: int
    end_tok: int
    score: float
    steps: tuple[Step, ...]


def index_keys(a: Analysed) -> tuple[str, ...]:
    """Keys an alias token is filed under (text tokens are looked up under the same)."""
    if a.cyrillic:
        return tuple(sorted({a.key, a.block, "@" + a.cstem[:STEM_KEY_LEN]}))
    if a.alts:
        return (a.block, *a.alts)
    return (a.block,)


def fuzzy_eligible(a: Analysed) -> bool:
    return not (a.exact_only or a.syllabic) and len(a.block) >= FUZZY_MIN_LEN


def edit_budget(length: int) -> int:
    return EDITS_LONG if length >= LONG_TOKEN_LEN else EDITS_SHORT


def _same_cyrillic_stem(a: Analysed, t: Analysed) -> bool:
    """Declined forms of one Cyrillic word: Путин/Путиным, Андрей/Андрея, Ын/Ыном."""
    if a.cstem == t.cstem:
        return True
    short, long_ = sorted((a.cstem, t.cstem), key=len)
    # "Андрей" loses "ей" but "Андрея" only "я": stems may differ by their last letter.
    if len(short) >= STEM_PREFIX_MIN and len(long_) - len(short) <= 1:
        return long_.startswith(short)
    # Stems too short to strip ("Ын"): the longer word is the shorter plus a case ending.
    longer, shorter = (t.norm, a.norm) if len(t.norm) > len(a.norm) else (a.norm, t.norm)
    return longer.startswith(shorter) and longer[len(shorter) :] in CYRILLIC_ENDINGS_ASCII


def compare_tokens(
    a: Analysed, t: Analysed, strict: bool = False, single: bool = False
) -> Step | None:
    """Does text token ``t`` match alias token ``a``? Returns how, or None.

    ``strict``: exact normalised form only. ``single``: the alias is this one token, so a
    fuzzy hit needs a long word (there is no second token to confirm it).
    """
    if a.syllabic != t.syllabic:
        return None
    if strict and a.cyrillic == t.cyrillic and not one_script(a.word, t.word):
        return None  # an ordinary word romanised: Hindi "दिए" (gave) is not German "die"
    if a.norm == t.norm:
        return Step("exact" if a.cyrillic == t.cyrillic else "transliterated", 100.0, 0, 0, 0)
    if (a.alts or t.alts) and not {a.norm, *a.alts}.isdisjoint((t.norm, *t.alts)):
        return Step("affix", INFLECTED_SCORE, 0, 0, 0)  # "לאיראן" / "איראן", "پهپادهای"
    if strict or a.exact_only:
        return None  # strict entries, acronyms and numbers: identical normalised form only
    same_script = a.cyrillic == t.cyrillic
    if a.key == t.key:
        return Step("variant" if same_script else "transliterated", VARIANT_SCORE, 0, 0, 0)
    if (a.cyrillic or t.cyrillic) and (a.block == t.block or a.block == t.key or a.key == t.block):
        return Step("inflected", INFLECTED_SCORE, 0, 0, 0)
    if a.cyrillic and t.cyrillic and _same_cyrillic_stem(a, t):
        return Step("inflected", INFLECTED_SCORE, 0, 0, 0)
    if not fuzzy_eligible(a) or len(t.block) < FUZZY_MIN_LEN or not t.norm.isalpha():
        return None
    if single and max(len(a.block), len(t.block)) < LONG_TOKEN_LEN:
        return None  # one short word, fuzzily: "Wagoner" is not "Wagner", "putting" not "Putin"
    if a.block[0] != t.block[0] and not (
        a.block[:2] in SIBILANT_ONSETS and t.block[:2] in SIBILANT_ONSETS
    ):
        return None  # a misspelt first letter is rare; a different one is another name
    budget = edit_budget(max(len(a.block), len(t.block)))
    edits = Levenshtein.distance(a.block, t.block, score_cutoff=budget)
    if edits > budget:
        return None
    score = min(FUZZY_MAX_SCORE, fuzz.ratio(a.block, t.block))
    return Step("fuzzy", score, 0, 0, edits)


def with_lemma(
    step: Step | None, lang: str, a: Analysed, t: Analysed, t_lemma: Analysed | None
) -> Step | None:
    """``step`` (how alias token ``a`` met text token ``t``), or a lemma step when there was
    none or only an edit and the two are forms of one word in ``lang``: another form, not a
    misspelling."""
    if (step is None or step.how == "fuzzy") and same_lemma(lang, a, t, t_lemma):
        return Step("lemma", INFLECTED_SCORE, 0, 0, 0)
    return step


class NameIndex:
    """All indexed names; built once, then read-only (safe to share between threads)."""

    def __init__(self) -> None:
        self.entities = EntityTable()
        self.aliases: list[str] = []  # per name id: the alias as written in the watchlist
        self.name_entity: list[int] = []
        self.name_tokens = NameTokens()
        # name ids: one int while a key has one name (most keys), a list beyond
        self.singles: dict[str, int | list[int]] = {}
        self.pairs: dict[str, dict[str, int | list[int]]] = {}
        self.fuzzy = FuzzyWords(LONG_TOKEN_LEN, EDITS_LONG)
        self.name_count = 0
        # one-token aliases that are another alias plus an ending ("Putina"): name id → base
        self.inflected: dict[int, Analysed] = {}
        self.lemma_keys = LemmaKeys()
        self.derived: dict[int, str] = {}  # name id → why not as written ("glued", ...)
        # keyword name id → the only languages it is written in (``signals.foreign_word``)
        self.alias_langs: dict[int, frozenset[str]] = {}
        self._lookup_cache: dict[Analysed, tuple[str, ...]] = {}
        self._starts_cache: dict[Analysed, Starts] = {}
        # text language → word → what it starts (``plans``); per process, like the above
        self._plan_cache: dict[str, dict[Analysed, Any]] = {}
        self._pair_cache: dict[str, dict[tuple[int, Analysed, Analysed], Any]] = {}

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state["_lookup_cache"] = {}  # keyed by Analysed identity: meaningless elsewhere
        state["_starts_cache"] = {}
        state["_plan_cache"] = {}
        state["_pair_cache"] = {}
        state["aliases"] = pack_strings(self.aliases)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state["aliases"] = unpack_strings(state["aliases"])
        self.__dict__.update(state)

    def warmth(self) -> int:
        """How much look-up work the caches hold (words, plus lemma languages weighted)."""
        return len(self.fuzzy.cache) + self.lemma_keys.warmth()

    @classmethod
    def build(cls, entries: Iterable[Entry]) -> NameIndex:
        ix = cls()
        vocab: set[str] = set()
        interned: dict[tuple[object, ...], Analysed] = {}
        for entry in entries:
            strict = entry.strict or entry.type == "keyword"
            ent = len(ix.entities)
            ix.entities.append(
                EntityRef(
                    entry.id,
                    entry.name,
                    entry.list,
                    entry.type,
                    entry.tags,
                    strict,
                    entry.programs,
                    entry.curated,
                )
            )
            seen: set[tuple[tuple[object, ...], ...]] = set()
            intern = interned.setdefault
            analysed = [
                (
                    alias,
                    tuple(
                        intern(astuple(a), a) for a in map(alias_word, analyse_text(alias).infos)
                    ),
                )
                for alias in entry.names
            ]
            # A declined one-word name is a trap in languages that do not decline ("Putina
            # is a small village"); for countries and keywords the rules' context suffices.
            guarded = entry.type in INFLECTION_GUARDED_TYPES
            bases = inflected_bases([t for _a, t in analysed]) if guarded else {}
            langs = dict(entry.alias_langs) if entry.type == "keyword" else {}
            for pos, (alias, toks) in enumerate(analysed):
                forms = alias_forms(alias, toks, entry, glued_variants) if toks else []
                ix.name_count += bool(forms)  # an alias of nothing but a legal form: none
                for variant, why in forms:
                    value = tuple(astuple(t) for t in variant)
                    if value in seen:
                        continue
                    seen.add(value)
                    if pos in bases:
                        ix.inflected[len(ix.aliases)] = bases[pos]
                    if why:
                        ix.derived[len(ix.aliases)] = why
                    if alias in langs and alias == alias.lower():  # a common word
                        ix.alias_langs[len(ix.aliases)] = frozenset(langs[alias])
                    ix._add(ent, alias, variant)
                    if not strict:
                        vocab.update(t.block for t in variant[:2] if fuzzy_eligible(t))
        ix.fuzzy = FuzzyWords.build(vocab, LONG_TOKEN_LEN, EDITS_LONG)
        ix.entities.seal()
        ix.name_tokens.seal()
        log.info(
            "matcher built entities=%d names=%d variants=%d fuzzy_words=%d",
            len(ix.entities),
            ix.name_count,
            len(ix.aliases),
            len(vocab),
        )
        return ix

    def _add(self, ent: int, alias: str, toks: tuple[Analysed, ...]) -> None:
        name_id = len(self.aliases)
        self.aliases.append(alias)
        self.name_entity.append(ent)
        self.name_tokens.append(toks)
        if len(toks) == 1:
            for k0 in index_keys(toks[0]):
                file_id(self.singles, k0, name_id)
        else:
            for k0 in index_keys(toks[0]):
                sub = self.pairs.setdefault(k0, {})
                for k1 in index_keys(toks[1]):
                    file_id(sub, k1, name_id)

    def _curated_tokens(self) -> list[tuple[Analysed, ...]]:
        """Tokens of curated aliases only: an official list's transliterated names are not
        inflected words of any language, and lemmatising 100k of them per text language
        would cost seconds (text words are still lemmatised against every name)."""
        curated = self.entities.curated
        return [self.name_tokens[i] for i, ent in enumerate(self.name_entity) if curated[ent]]

    def lemma_lookup(self, t: Analysed, lt: Analysed | None, lang: str) -> tuple[str, ...]:
        """Extra keys of text token ``t`` (lemma ``lt``) in a text lemmatised in ``lang``:
        its lemma's keys, and the keys of aliases whose own lemma is the same word."""
        if not lemmatisable(t):
            return ()  # syllables, numbers, acronyms, abjad words: never lemmatised
        reverse = self.lemma_keys.reverse(lang, self._curated_tokens, index_keys)
        out = reverse.get((lt or t).norm, ())
        if lt is not None:
            out = (*index_keys(lt), *out)
        return out

    def warm_languages(self, langs: Iterable[str]) -> list[str]:
        """Load the lemma dictionary and build the alias lemma table of each language now
        (seconds each), instead of inside the first item in it; returns those warmed."""
        done = []
        for lang in sorted(set(langs)):
            if lang in KNOWN_WORD_LANGS:  # only asked whether they know a word
                is_known(lang, lang)
                done.append(lang)
                continue
            if lang != "en" and lang not in LEMMA_LANGS:
                continue  # English: only the inflection guard's dictionary, no lemma keys
            lemma_of(lang, lang)  # the dictionary (shared with is_known) opens on first use
            if lang in LEMMA_LANGS:
                self.lemma_keys.reverse(lang, self._curated_tokens, index_keys)
            done.append(lang)
        return done

    def lookup_keys(self, t: Analysed) -> tuple[str, ...]:
        """Index keys under which names that ``t`` may start (or continue) are filed."""
        cached = self._lookup_cache.get(t)
        if cached is not None:
            return cached
        keys = set(index_keys(t))
        keys.add(t.key)
        if len(t.block) >= FUZZY_MIN_LEN and not t.syllabic and t.norm.isalpha():
            keys.update(self.fuzzy.neighbours(t.block))
        result = tuple(sorted(keys))
        if len(self._lookup_cache) >= _LOOKUP_CACHE_MAX:
            self._lookup_cache.clear()
        self._lookup_cache[t] = result
        return result

    def name_starts(self, keys: tuple[str, ...]) -> Starts:
        """What a token with these keys can start (``tables.starts_of``)."""
        return starts_of(self.singles, self.pairs, keys)

    def token_starts(self, t: Analysed) -> Starts:
        """``name_starts`` of the token's look-up keys, cached per token (news repeats
        words, and most start no name)."""
        cached = self._starts_cache.get(t)
        if cached is None:
            cached = self.name_starts(self.lookup_keys(t))
            if len(self._starts_cache) >= _LOOKUP_CACHE_MAX:
                self._starts_cache.clear()
            self._starts_cache[t] = cached
        return cached

    def verify(
        self, name_id: int, tt: TextTokens, i: int, may_glue: Callable[[TextTokens, int], bool]
    ) -> Candidate | None:
        """Align the name's tokens with the text from token ``i``, one by one."""
        ent = self.name_entity[name_id]
        strict = self.entities.strict[ent]
        infos = tt.infos
        n = len(infos)
        p = i
        steps: list[Step] = []
        toks = self.name_tokens.rows[name_id] or self.name_tokens[name_id]
        single = len(toks) == 1
        lemmas = tt.lemmas
        for a in toks:
            if p >= n:
                return None
            step = compare_tokens(a, infos[p], strict, single)
            if lemmas is not None:
                step = with_lemma(step, tt.lang, a, infos[p], lemmas[p])
            width = 1
            if step is None and p + 1 < n and may_glue(tt, p):
                step = compare_tokens(a, glue(infos[p], infos[p + 1]), strict, single)
                width = 2
            if step is None:
                return None
            steps.append(step._replace(first=p, last=p + width))
            p += width
        score = sum(s.score for s in steps) / len(steps)
        return Candidate(name_id, ent, i, p, score, tuple(steps))
