"""Language of an item and dictionary forms of its words (simplemma), cheaply.

* ``detect_language``: py3langid on the first ``DETECT_CHARS`` characters of title + text
  (about 0.1 ms): enough to tell Polish from Czech, and far cheaper than lemmatising the
  whole text in every candidate language.
* ``lemma_of(lang, word)``: simplemma's dictionary form of one word, cached per
  (language, word): news repeats words, so most look-ups are a dict hit. simplemma's
  low-memory dictionaries are used (a language's dictionary is read on first use only, tens
  of MB instead of hundreds): a bot reading news in ten languages must stay small.

Only the languages in ``LEMMA_LANGS`` are lemmatised: those that inflect names and nouns
and whose simplemma dictionary helps (English is not one: its plurals are aliases, and
"shells" must not become the lemma "shell" of Shell plc). Persian, Hebrew and Arabic have
their own affix rules (``scripts``), Chinese/Japanese/Korean their syllable tokens.
"""

from __future__ import annotations

import functools
import logging
import re
from typing import Any

log = logging.getLogger(__name__)

__all__ = ["INFLECTING_LANGS", "LEMMA_LANGS", "detect_language", "is_known", "lemma_of"]

# How much of an item the language detector reads: the title and the first sentences
# decide; reading 2 kB instead costs twice as much for the same answer.
DETECT_CHARS = 400
# py3langid code → simplemma code, for the languages whose words are lemmatised.
LEMMA_LANGS: dict[str, str] = {
    code: code
    for code in (
        "pl cs sk sl ru uk bg mk sq it es pt fr de ro tr lt lv et fi hu el ca nl sv da nb "
        "is ga cy gl la lb id ms hy ka"
    ).split()
} | {"hr": "hbs", "sr": "hbs", "bs": "hbs", "no": "nb"}
# Languages that mark grammatical case on names by endings (Putin → Putina, Putinem): a
# word the dictionary does not know may still be a declined name in them, but not in
# English or French ("Putina is a small village" is not Putin).
INFLECTING_LANGS = frozenset(
    "pl cs sk sl hr sr bs ru uk be bg mk sq lt lv et fi hu tr el de is la ro ka hy".split()
)
_LEMMA_CACHE = 200_000  # (language, word) pairs kept; news vocabulary per language


@functools.lru_cache(maxsize=1)
def _lemmatizer() -> Any:
    from simplemma import Lemmatizer
    from simplemma.strategies import LOW_MEMORY_DICTIONARY_FACTORY, DefaultStrategy

    strategy = DefaultStrategy(dictionary_factory=LOW_MEMORY_DICTIONARY_FACTORY)
    return Lemmatizer(lemmatization_strategy=strategy)


@functools.lru_cache(maxsize=1)
def _identifier() -> Any:
    import py3langid

    return py3langid


# English function words. A few are words elsewhere too (Polish "to", Danish "for", Dutch
# "is"), but no other language uses enough of them to reach ENGLISH_SHARE ("a", "in" and
# "de" are left out: they are frequent in Italian, German, Polish, French). English is most of the news a
# desk reads; when these make up ENGLISH_SHARE of a sample the classifier is not asked
# (it costs ~0.1 ms, a tenth of matching an item).
_ENGLISH_MARKERS = frozenset(
    "the of and that was were with from said has have had this which their been would "
    "will its are they after to for on by at as is".split()
)
ENGLISH_SHARE = 0.12
ENGLISH_MIN_HITS = 3
_LATIN_WORD_RE = re.compile(r"[A-Za-z]+")


def detect_language(text: str) -> str:
    """ISO 639-1 code of the text's language (py3langid), or "" for text without letters."""
    sample = text[:DETECT_CHARS]
    words = _LATIN_WORD_RE.findall(sample)
    if len(words) >= ENGLISH_MIN_HITS:
        hits = sum(1 for w in words if w.lower() in _ENGLISH_MARKERS)
        if hits >= ENGLISH_MIN_HITS and hits >= ENGLISH_SHARE * len(words):
            return "en"
    if not any(c.isalpha() for c in sample):
        return ""
    code, _score = _identifier().classify(sample)
    return str(code)


@functools.lru_cache(maxsize=_LEMMA_CACHE)
def lemma_of(lang: str, word: str) -> str | None:
    """The dictionary form of ``word`` in ``lang`` when it differs from the word, else None."""
    code = LEMMA_LANGS.get(lang) if lang != "en" else "en"
    if code is None or not word or not word[0].isalpha():
        return None
    try:
        lemma = _lemmatizer().lemmatize(word, lang=code)
    except (ValueError, KeyError, OSError) as exc:  # unsupported language or missing data
        log.warning("lemmatiser failed lang=%s error=%s", lang, exc)
        return None
    if not isinstance(lemma, str) or lemma.casefold() == word.casefold():
        return None
    return lemma


@functools.lru_cache(maxsize=_LEMMA_CACHE)
def is_known(lang: str, word: str) -> bool:
    """Does the language's dictionary know this word (in any form)?"""
    code = LEMMA_LANGS.get(lang) if lang != "en" else "en"
    if code is None:
        return False
    try:
        import simplemma

        return bool(simplemma.is_known(word, lang=code, low_memory=True))
    except (ValueError, KeyError, OSError):
        return False
