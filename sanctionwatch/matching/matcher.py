"""Find watchlist names in text: token index lookup, then token-by-token verification.

How a text is matched (cost grows with the text, not with the number of names):

1. The text is tokenised and every token analysed (``normalize.analyse_text``).
2. For each token, its lookup keys are its romanisation key, its Cyrillic stem and, for
   long ordinary words, the index keys within one edit of it (a deletion index, see
   ``matchindex``). Names are indexed by their first token (one-token names) or first two
   tokens (longer names), so each text position costs a handful of dict look-ups.
3. Each candidate name is verified token by token (``compare_tokens``): never a whole-string
   ratio, so "South Korea" never meets "North Korea" and "Kim Jong Il" never "Kim Jong Un".
4. Overlapping matches of one entity keep the best; different entities may overlap.
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import cast

from sanctionwatch.errors import SanctionwatchError
from sanctionwatch.matching.describe import describe
from sanctionwatch.matching.gcpause import gc_paused
from sanctionwatch.matching.index import (
    Candidate,
    NameIndex,
    Step,
    compare_tokens,
)
from sanctionwatch.matching.lemmaindex import add_text_lemmas, inflection_fits
from sanctionwatch.matching.lemmas import KNOWN_WORD_LANGS, detect_language
from sanctionwatch.matching.normalize import TextTokens, analyse_text
from sanctionwatch.matching.overlap import most_specific
from sanctionwatch.matching.plans import TokenPlan, pair_result, token_plan
from sanctionwatch.matching.positions import glue, glue_flags, seconds
from sanctionwatch.matching.scripts import prepare_tables
from sanctionwatch.matching.signals import (
    OFFICIAL_SINGLE_WORD_SCORE,
    Held,
    confirm,
    foreign_word,
    is_ordinary,
    needs_signal,
)
from sanctionwatch.matching.tables import Starts
from sanctionwatch.matching.units import Units, units_of
from sanctionwatch.models import Entry, Match

log = logging.getLogger(__name__)

__all__ = ["OFFICIAL_SINGLE_WORD_SCORE", "Matcher", "compare_tokens"]

# Matches scoring below this are not reported at all. Every exact, variant or inflected
# match scores 94+; one allowed fuzzy edit in a 5-letter word scores ~80 as a single
# token, so 75 keeps every hit the edit budget allowed and lets rules choose (they
# default to min_score 88).
MIN_REPORT_SCORE = 75.0
_CACHE_FORMAT = 19  # bump when the pickled layout changes
# How a one-word alias may meet a word it is not: a spelling variant key ("rysk" / "risk")
# or an edit. Identity, transliteration, inflection and lemmas are the name itself.
NEAR_SPELLINGS = frozenset({"variant", "fuzzy"})


class Matcher:
    """An index of watchlist names; ``find`` returns every mention in a text."""

    def __init__(self, index: NameIndex) -> None:
        self._ix = index

    @classmethod
    def build(cls, entries: Iterable[Entry]) -> Matcher:
        with gc_paused():
            return cls(NameIndex.build(entries))

    def __len__(self) -> int:
        return self._ix.name_count

    def warm_up(self, langs: Iterable[str] | None = None) -> list[str]:
        """Load lemma dictionaries and alias lemma tables before matching, so the first
        items in each language do not pay for them (ms with built tries, 1-4 s per language
        without). Default: English (the inflection guard's dictionary) and the languages the
        index has met before (their tables travel with a cached engine); with entries from
        official lists, always the Cyrillic known-word dictionaries too (``signals``).
        For a long-lived process (a worker) right after it got its engine. Also builds
        the format-character tables (0.1 s, else paid by the first non-ASCII text)."""
        ix = self._ix
        prepare_tables()
        # official entries' one-word aliases are checked against the Cyrillic dictionaries
        official = KNOWN_WORD_LANGS if not all(ix.entities.curated) else ()
        wanted = ["en", *ix.lemma_keys.languages()] if langs is None else list(langs)
        return ix.warm_languages([*wanted, *official])

    def warmth(self) -> int:
        """Size of the look-up caches (they are saved with a cached engine)."""
        return self._ix.warmth()

    def save(self, path: str | Path) -> None:
        """Pickle the index (for big imported lists: loading beats rebuilding)."""
        with open(path, "wb") as fh:
            pickle.dump((_CACHE_FORMAT, self._ix), fh, protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def load(cls, path: str | Path) -> Matcher:
        try:
            with open(path, "rb") as fh, gc_paused():
                fmt, index = pickle.load(fh)  # noqa: S301 - our own cache file
        except (OSError, pickle.UnpicklingError, EOFError, ValueError) as exc:
            raise SanctionwatchError(
                f"{path}: cannot load matcher cache ({exc})",
                hint="delete the cache file; it is rebuilt from the watchlists",
            ) from exc
        if fmt != _CACHE_FORMAT or not isinstance(index, NameIndex):
            raise SanctionwatchError(
                f"{path}: matcher cache has an old format", hint="delete it to rebuild"
            )
        return cls(index)

    def find(self, text: str, field: str = "text", lang: str | None = None) -> list[Match]:
        """Every watchlist mention in ``text``, sorted by start offset.

        ``lang``: the item's language (ISO 639-1) when the caller knows it (``Engine.match``
        detects it once for title and text); None: detected from ``text``.
        """
        if not text:
            return []
        return self.find_item(((field, text),), detect_language(text) if lang is None else lang)

    def find_item(
        self, fields: Sequence[tuple[str, str]], lang: str, held_out: list[Match] | None = None
    ) -> list[Match]:
        """Every mention in an item's fields (``(field, text)``, e.g. title and text), field
        by field, each sorted by start offset. One item: a one-word official alias in the
        text may take its second signal from the title (``signals``). ``held_out`` receives
        the ordinary-word matches held back for lack of a signal (``rulecontext``)."""
        found: list[list[Match]] = []
        held: list[Held] = []
        analysed: list[TextTokens] = []
        for k, (field, text) in enumerate(fields):
            found.append([])
            if not text:
                continue
            tt = analyse_text(text)
            add_text_lemmas(tt, lang, self._ix.lemma_keys.memo)
            analysed.append(tt)
            found[k], waiting = self._select(text, field, tt, self._candidates(tt))
            held.extend(Held(m, h.entity, k) for m, h in waiting)
        if held:
            words = {info.norm for tt in analysed for info in tt.infos}
            confirmed = confirm(self._ix, held, [m for ms in found for m in ms], words)
            for h in confirmed:
                found[h.field].append(h.match)
                found[h.field].sort(key=lambda m: (m.start, m.end, m.entity_id))
            if held_out is not None:
                ok = {(h.field, h.match.start, h.match.entity_id) for h in confirmed}
                held_out.extend(
                    h.match for h in held if (h.field, h.match.start, h.match.entity_id) not in ok
                )
        return [m for ms in found for m in ms]

    # -- search -------------------------------------------------------------------------

    def _candidates(self, tt: TextTokens) -> list[Candidate]:
        """Every name that may start at each word, verified.

        What a word can start, and which one-word names it is, is worked out once per
        word and language (``plans``); only the words that start some longer name look at
        the next word's keys, and whether two tokens may be glued ("Nord-Korea", "Shahed
        136") is decided once per position.
        """
        ix = self._ix
        infos = tt.infos
        n = len(infos)
        lemmas = tt.lemmas
        lang = tt.lang if lemmas is not None else ""
        cache = ix._plan_cache.get(lang) or {}
        got: list[TokenPlan | None] = list(map(cache.get, infos))  # most words: planned
        if None in got:
            for i, plan in enumerate(got):
                if plan is None:
                    lemma = lemmas[i] if lemmas is not None else None
                    got[i] = token_plan(ix, infos[i], lemma, lang, MIN_REPORT_SCORE)
        plans = cast(list[TokenPlan], got)
        glue_ok = glue_flags(tt)  # decided once per position, for look-up and verify alike
        glued: list[tuple[str, ...]] = [()] * n  # keys of tokens j and j+1 written as one
        glued_starts: list[Starts | None] = [None] * n
        for j in range(n - 1):
            if glue_ok[j]:
                g = glue(infos[j], infos[j + 1])
                glued[j] = ix.lookup_keys(g)
                glued_starts[j] = ix.token_starts(g)

        def may_glue(_tt: TextTokens, p: int) -> bool:
            return glue_ok[p]

        word_start = tt.word_start
        verify = ix.verify
        sizes = ix.name_tokens.sizes
        hits: list[Candidate] = []
        for i in range(n):
            plan = plans[i]
            gs = glued_starts[i]
            if (plan.empty and gs is None) or not word_start[i]:
                continue  # most words start no name; a Korean name starts a word
            for name_id, ent, how, score, edits in plan.ok:
                one = (Step(how, score, i, i + 1, edits),)
                hits.append(Candidate(name_id, ent, i, i + 1, score, one))
            seen: set[int] = set()
            if gs is not None:  # glued to the next word: one-word names may still meet it
                seen.update(plan.fail)
                seen.update(gs[0])
                seen.difference_update(plan.ok_ids)
                if gs[1] and i + 2 < n:
                    seconds(seen, gs[1], plans[i + 2].keys, glued[i + 2])
            if plan.subs and i + 1 < n:
                second = plan.seconds  # most positions: no second word of any name follows
                if (
                    second is None
                    or not second.isdisjoint(plans[i + 1].keys)
                    or (glued[i + 1] and not second.isdisjoint(glued[i + 1]))
                ):
                    seconds(seen, plan.subs, plans[i + 1].keys, glued[i + 1])
            if not seen:
                continue
            # A two-word name where neither word may be glued to the next depends on the two
            # words only (and the language): verified once per pair (``plans.pair_result``).
            plain = i + 1 < n and not glue_ok[i] and not glue_ok[i + 1]
            for name_id in seen:  # order-free: _select sorts by a total order
                if plain and sizes[name_id] == 2:
                    hit = pair_result(ix, name_id, tt, i, lang, MIN_REPORT_SCORE)
                else:
                    hit = verify(name_id, tt, i, may_glue)
                if hit is not None and hit.score >= MIN_REPORT_SCORE:
                    hits.append(hit)
        return hits

    def _select(
        self, text: str, field: str, tt: TextTokens, hits: list[Candidate]
    ) -> tuple[list[Match], list[tuple[Match, Candidate]]]:
        """Keep the best of overlapping hits per entity; build Match objects. Returns the
        matches, and the one-word official matches held for a second signal (``signals``).

        Guards run first, on every candidate: a candidate they drop never claims its span, so
        the next best alias of the same entity may still take it. Ties are broken by a
        total order (score, span length, position, entity id, alias, name id): the result
        never depends on set or hash order (PYTHONHASHSEED).
        """
        ix = self._ix
        hits.sort(
            key=lambda h: (
                -h.score,
                -(h.end_tok - h.start_tok),
                h.start_tok,
                ix.entities.ids[h.entity],
                ix.aliases[h.name_id],
                h.name_id,
            )
        )
        taken: dict[int, list[tuple[int, int]]] = {}
        chosen: list[Candidate] = []
        guarded: dict[int, tuple[float, str]] = {}  # id(hit) → capped score, why
        starts, ends = tt.starts, tt.ends
        for h in hits:
            spans = taken.setdefault(h.entity, [])
            if any(h.start_tok < e and s < h.end_tok for s, e in spans):
                continue
            if not self._inflection_ok(tt, h):
                continue
            words = text[starts[h.start_tok] : ends[h.end_tok - 1]]
            guard = self._guard_single_word(words, h, tt.lang)
            if guard is None:
                continue
            if guard[1]:
                guarded[id(h)] = guard
            spans.append((h.start_tok, h.end_tok))
            chosen.append(h)
        out: list[Match] = []
        held: list[tuple[Match, Candidate]] = []
        units = units_of(text) if chosen else None
        for h, notes in most_specific(ix, chosen):
            # Explanations only for the matches kept: the alignment, then the guards' and
            # the overlap's notes.
            score, why = guarded.get(id(h), (h.score, ""))
            detail = describe(ix, h, text, tt) + why + notes
            match = self._to_match(text, field, tt, h, units, round(score, 1), detail)
            if needs_signal(ix, match.text, h, tt.lang):
                held.append((match, h))
            else:
                out.append(match)
        out.sort(key=lambda m: (m.start, m.end, m.entity_id))
        return out, held

    def _inflection_ok(self, tt: TextTokens, h: Candidate) -> bool:
        """A one-word alias that is an inflected form of another ("Putina", "Шахеды") is
        that inflection only in a language that declines the word so: not in "Putina is a
        small village", nor in "Irena Shahedi" (the Cyrillic plural transliterated)."""
        base = self._ix.inflected.get(h.name_id)
        if base is None:
            return True
        step = h.steps[0]
        word = tt.text[tt.starts[step.first] : tt.ends[step.last - 1]]
        if word[:1].islower():
            # The traps are names ("Putina is a small village", "Irena Shahedi"); a word in
            # lower case is a common noun in any language ("drony", "missile"), and a
            # curated inflection of a common noun is that noun, whatever the language.
            return True
        return inflection_fits(tt.lang, word, base)

    def _guard_single_word(self, words: str, h: Candidate, lang: str) -> tuple[float, str] | None:
        """Guards for one-word aliases, the main source of false positives in real lists.
        ``words``: the matched text as written. Returns None (no match), or the score and
        a note for the detail ("" when nothing changed).

        - A proper-name alias ("Putin", "SAID", "Fox") written all in lower case in a cased
          script ("said", "fox") is an ordinary word, not the name: no match. For entries
          from official lists this holds for names of any length ("DON T" vs "don't"), and
          for any entry when a word of it is only a near miss ("kitchen in" is not the
          Ukrainian "Кім Чен Ин", glued "kimchen").
        - A one-word alias met only by a near spelling (a variant key or an edit) by a word
          the dictionary of the item's language (or English) knows is that word: "risk" is
          not the Swedish "rysk" (Russian).
        - A one-word alias of an entry imported from an official list scores at most
          OFFICIAL_SINGLE_WORD_SCORE, below the rules' default min_score: it is kept (visible
          in `match` explanations) but only a rule that asks for it (a lower min_score) uses it;
          an ordinary word ("Fox") needs a second signal to be kept at all (``signals``).
        """
        ix = self._ix
        alias = ix.aliases[h.name_id]
        lower = words.lower()
        cased = lower != words.upper()
        lower_text = cased and words == lower and alias != alias.lower()
        curated = ix.entities.curated[h.entity]
        if lower_text and not curated:
            return None  # "don't" is not the OFAC alias "DON T"
        if lower_text and any(step.how == "fuzzy" for step in h.steps):
            return None  # met in lower case only by a misspelling: "kitchen in" (Кім Чен Ин)
        # One word: an official name met by one token ("PJSC SBERBANK" as "Sberbank", "SBER
        # BANK" glued); a curated alias written as one word.
        one = len(alias.split()) == 1 if curated else ix.name_tokens.sizes[h.name_id] == 1
        if not one:
            return h.score, ""
        if lower_text or foreign_word(ix, h, words, lang):
            return None  # a keyword of other languages met by a word of this one: "livre"
        if any(step.how in NEAR_SPELLINGS for step in h.steps) and is_ordinary(words, lang):
            return None
        if not curated and round(h.score, 1) > OFFICIAL_SINGLE_WORD_SCORE:
            return OFFICIAL_SINGLE_WORD_SCORE, (
                f"; one-word alias from an official list: score capped at"
                f" {OFFICIAL_SINGLE_WORD_SCORE:.0f}, a rule must ask for such matches"
            )
        return h.score, ""

    def _to_match(
        self,
        text: str,
        field: str,
        tt: TextTokens,
        h: Candidate,
        units: Units | None,
        score: float,
        detail: str,
    ) -> Match:
        ent = self._ix.entities[h.entity]
        start = tt.starts[h.start_tok]
        end = tt.ends[h.end_tok - 1]
        return Match(
            entity_id=ent.id,
            entity=ent.name,
            watchlist=ent.list,
            alias=self._ix.aliases[h.name_id],
            text=text[start:end],
            field=field,
            start=start,
            end=end,
            score=score,
            detail=detail,
            type=ent.type,
            tags=ent.tags,
            programs=ent.programs,
            token_start=tt.words[h.start_tok],
            token_end=tt.words[h.end_tok - 1] + 1,
            sentence=units.sentence(start) if units else 0,
            paragraph=units.paragraph(start) if units else 0,
        )
