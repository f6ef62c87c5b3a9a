"""Lemma keys for the name index: a token may be found under its surface and its lemma.

Text side: every word of an item in a lemmatised language (``lemmas.LEMMA_LANGS``) also
carries the analysis of its dictionary form (``TextTokens.lemmas``), and is looked up under
that form's keys too: "artylerię" is looked up as "artyleria", "Рособоронэкспорта" as
"Рособоронэкспорт".

Alias side: an alias written in an inflected form ("sprzętu wojskowego") must meet a text
in another form ("sprzęt wojskowy"). Aliases have no language of their own, so their
lemmas are computed per text language, lazily, the first time an item in that language is
matched (``LemmaKeys.reverse``): the first two tokens of every alias, lemmatised in that
language, filed under the lemma's key. Built once per (index, language), a dict look-up
per text word afterwards.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Sequence

from sanctionwatch.matching.lemmas import INFLECTING_LANGS, LEMMA_LANGS, is_known, lemma_of
from sanctionwatch.matching.normalize import Analysed, TextTokens, analyse_word

log = logging.getLogger(__name__)

# Two aliases of one entry where one is the other plus this many letters at most are a
# base form and its inflection ("Putin"/"Putina", "Шахед"/"Шахеды").
INFLECTION_MAX_SUFFIX = 3
# Text words whose lemmas a LemmaKeys keeps (then it stops adding: a bounded file).
MEMO_MAX = 200_000
# One language's alias lemma table counts as this many cached words (``LemmaKeys.warmth``).
TABLE_WARMTH = 5_000
_MISSING = object()
_LATIN_RE = re.compile(r"[A-Za-z\u00c0-\u024f]")


def lemmatisable(a: Analysed) -> bool:
    """Ordinary words only: no numbers, acronyms, syllables or abjad words."""
    return bool(a.word) and not (a.exact_only or a.syllabic) and a.word.replace("'", "").isalpha()


def lemma_info(lang: str, a: Analysed) -> Analysed | None:
    """The analysed dictionary form of ``a`` in ``lang``, or None if it is its own lemma."""
    if not lemmatisable(a):
        return None
    lemma = lemma_of(lang, a.word)
    if lemma is None:
        return None
    info = analyse_word(lemma)
    return None if info.key == a.key else info


def add_text_lemmas(
    tt: TextTokens, lang: str, memo: dict[tuple[str, str], str | None] | None = None
) -> None:
    """Fill ``tt.lemmas`` for a text in ``lang`` (left None for other languages).

    ``memo``: a (language, word) → lemma cache that outlives the process (``LemmaKeys.memo``).
    """
    tt.lang = lang
    if lang not in LEMMA_LANGS:
        return
    if memo is None:
        tt.lemmas = [lemma_info(lang, a) for a in tt.infos]
        return
    out: list[Analysed | None] = []
    for a in tt.infos:
        if not lemmatisable(a):
            out.append(None)
            continue
        key = (lang, a.word)
        lemma = memo.get(key, _MISSING)
        if lemma is _MISSING:
            lemma = lemma_of(lang, a.word)
            if len(memo) < MEMO_MAX:
                memo[key] = lemma
        info = analyse_word(lemma) if isinstance(lemma, str) else None
        out.append(None if info is None or info.key == a.key else info)
    tt.lemmas = out


def same_lemma(lang: str, a: Analysed, t: Analysed, t_lemma: Analysed | None) -> bool:
    """Alias token ``a`` and text token ``t`` are forms of one word in ``lang``."""
    if not lang or not lemmatisable(a) or not lemmatisable(t):
        return False
    a_lemma = lemma_info(lang, a)
    if t_lemma is None and a_lemma is None:
        return False
    # the same dictionary word, letter for letter: a spelling variant of a lemma is
    # another word ("armée", army, folds like "arme", weapon; "Cook" like "kok")
    return (a_lemma or a).norm == (t_lemma or t).norm


class LemmaKeys:
    """Per text language: lemma (normalised) → the index keys of alias tokens with that
    lemma."""

    def __init__(self) -> None:
        self._reverse: dict[str, dict[str, tuple[str, ...]]] = {}
        self._lock = threading.Lock()
        # (language, text word) → its lemma (None: its own): simplemma's low-memory look-up
        # of an unseen word costs ~0.2 ms; kept with the engine so restarts keep them.
        self.memo: dict[tuple[str, str], str | None] = {}

    def __getstate__(self) -> dict[str, object]:
        # The tables are plain strings: they travel with a cached engine (enginestore), so a
        # new process does not lemmatise every alias again (about 2 s per language).
        return {"reverse": dict(self._reverse), "memo": dict(self.memo)}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__init__()  # type: ignore[misc]
        reverse = state.get("reverse")
        memo = state.get("memo")
        if isinstance(reverse, dict):
            self._reverse.update(reverse)
        if isinstance(memo, dict):
            self.memo.update(memo)

    def languages(self) -> list[str]:
        """The languages whose alias table is built (met so far, or loaded with the index)."""
        return sorted(self._reverse)

    def warmth(self) -> int:
        """Cached work: text words lemmatised, plus each language's alias table (weighted
        as the thousands of words it took to build)."""
        return len(self.memo) + TABLE_WARMTH * len(self._reverse)

    def reverse(
        self,
        lang: str,
        tokens: Callable[[], Sequence[tuple[Analysed, ...]]],
        keys_of: Callable[[Analysed], tuple[str, ...]],
    ) -> dict[str, tuple[str, ...]]:
        """The table for ``lang``; ``tokens`` (called once per language) gives the aliases."""
        table = self._reverse.get(lang)
        if table is not None:
            return table
        with self._lock:
            table = self._reverse.get(lang)
            if table is None:
                table = _build_reverse(lang, tokens(), keys_of)
                self._reverse[lang] = table
                log.info("lemma keys built lang=%s keys=%d", lang, len(table))
        return table


def _build_reverse(
    lang: str,
    tokens: Sequence[tuple[Analysed, ...]],
    keys_of: Callable[[Analysed], tuple[str, ...]],
) -> dict[str, tuple[str, ...]]:
    out: dict[str, set[str]] = {}
    seen: set[int] = set()
    for toks in tokens:
        for a in toks[:2]:
            if id(a) in seen:
                continue
            seen.add(id(a))
            la = lemma_info(lang, a)
            if la is None:
                continue
            out.setdefault(la.norm, set()).update(keys_of(a))
    return {k: tuple(sorted(v)) for k, v in out.items()}


def inflected_bases(aliases: Sequence[tuple[Analysed, ...]]) -> dict[int, Analysed]:
    """Which one-token aliases of one entry are another one plus a short ending.

    Returns position → the base token: for [Putin, Путин, Путина, Putina] positions 2 and 3.
    """
    singles = [(i, toks[0]) for i, toks in enumerate(aliases) if len(toks) == 1]
    words = {a.word.casefold(): a for _i, a in singles if a.word}
    out: dict[int, Analysed] = {}
    for i, a in singles:
        w = a.word.casefold()
        for cut in range(1, INFLECTION_MAX_SUFFIX + 1):
            base = words.get(w[:-cut]) if len(w) - cut >= 3 else None
            if base is not None and base is not a:
                out[i] = base
                break
    return out


def inflection_fits(lang: str, word: str, base: Analysed) -> bool:
    """May text ``word``, met through an inflected alias, be that inflection of ``base``?

    Yes when the text's language lemmatises it to the base ("Putina" in Polish → Putin),
    or when the language declines names and its dictionary does not know the word (a name
    it has no entry for). No in English or French: "Putina is a small village".
    """
    if analyse_word(word).key == base.key:
        return True  # the base form itself, met through an alias that folds to the same key
    if not lang:
        # Language unknown (short text, or one we do not tell apart, e.g. Russian): a
        # Cyrillic/Greek word is taken as declined (those languages decline names); a
        # Latin one must be confirmed by the English dictionary ("drones" → "drone").
        if not word.isascii() and not _LATIN_RE.match(word):
            return True
        lang = "en"
    lemma = lemma_of(lang, word)
    if lemma is not None and analyse_word(lemma).key == base.key:
        return True
    return lang in INFLECTING_LANGS and not is_known(lang, word)
