"""Language of an item and dictionary forms of its words (simplemma), cheaply.

* ``detect_language``: a vote of function words over the first ``DETECT_CHARS``
  characters of title + text (microseconds, no model): enough to tell Polish from Czech,
  and far cheaper than lemmatising the whole text in every candidate language.
* ``lemma_of(lang, word)``: simplemma's dictionary form of one word, cached per
  (language, word): news repeats words, so most look-ups are a dict hit. simplemma's
  low-memory dictionaries are used (a language's dictionary is read on first use only, tens
  of MB instead of hundreds): a bot reading news in ten languages must stay small. Where
  ``python bot.py lemmas --build`` has built a language's trie, that is read instead: a
  few MB, and look-ups in µs rather than a tenth of a millisecond (``lemmadicts``).

Only the languages in ``LEMMA_LANGS`` are lemmatised: those that inflect names and nouns
and whose simplemma dictionary helps. Russian, Ukrainian, Bulgarian and Macedonian are not
lemmatised: the Cyrillic case-ending stemmer (``normalize``) already meets their declined
names (Путина, Рособоронэкспорта, Виктора Бута) at no cost, while their dictionaries take
seconds to load on every start. Nor is English (: its plurals are aliases, and
"shells" must not become the lemma "shell" of Shell plc). Persian, Hebrew and Arabic have
their own affix rules (``scripts``), Chinese/Japanese/Korean their syllable tokens.
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from typing import Any

from sanctionwatch.matching.lemmadicts import Dictionaries, trie_dir

log = logging.getLogger(__name__)

__all__ = [
    "INFLECTING_LANGS",
    "KNOWN_WORD_LANGS",
    "LEMMA_LANGS",
    "detect_language",
    "is_known",
    "lemma_codes",
    "lemma_of",
]

# How much of an item the language detector reads: the title and the first sentences
# decide. Fewer (240) let one quoted foreign sentence in an English item win the vote and
# load a dictionary for nothing; more costs time for the same answer.
DETECT_CHARS = 400
# ISO 639-1 code → simplemma code, for the languages whose words are lemmatised.
LEMMA_LANGS: dict[str, str] = {
    code: code
    for code in ("pl cs sk sl sq it es pt fr de ro tr lt lv et fi hu el ca nl sv da id").split()
} | {"hr": "hbs"}
# Languages that mark grammatical case on names by endings (Putin → Putina, Putinem): a
# word the dictionary does not know may still be a declined name in them, but not in
# English or French ("Putina is a small village" is not Putin).
INFLECTING_LANGS = frozenset(
    "pl cs sk sl hr sr bs ru uk be bg mk sq lt lv et fi hu tr el de is la ro ka hy".split()
)
_LEMMA_CACHE = 200_000  # (language, word) pairs kept; news vocabulary per language
# Languages whose dictionaries are asked only whether they know a word: the ordinary-word
# check of one-word official aliases (``signals``). Cyrillic news is not lemmatised (the
# case-ending stemmer meets its declined names), but "Звезда" (star) is a word there, not
# the company PAO ZVEZDA. Their dictionaries open in 0.2-1.1 s as streams, ms as tries.
KNOWN_WORD_LANGS = ("ru", "uk", "bg", "mk")


@functools.lru_cache(maxsize=1)
def _dictionaries() -> Dictionaries:
    """Built tries where there are, else streams (``lemmadicts``); read once per process."""
    return Dictionaries(trie_dir())


@functools.lru_cache(maxsize=1)
def _lemmatizer() -> Any:
    from simplemma import Lemmatizer
    from simplemma.strategies import DefaultStrategy

    strategy = DefaultStrategy(dictionary_factory=_dictionaries())
    return Lemmatizer(lemmatization_strategy=strategy)


@functools.lru_cache(maxsize=1)
def _known_lookup() -> Any:
    """What ``simplemma.is_known(..., low_memory=True)`` looks words up with, on our
    dictionaries (so the lemmatiser and the known-word check share one copy of each)."""
    from simplemma.strategies import DictionaryLookupStrategy

    return DictionaryLookupStrategy(_dictionaries())


# The most frequent function words of each language whose words are lemmatised (and of
# English): a news sample of a few sentences holds several of them, and they are what a
# language identifier weighs most. A vote over them costs a dict look-up per word (no model
# to load, nothing in memory), against ~1 s and ~150 MB for an n-gram model at start-up.
_FUNCTION_WORDS = {
    "en": "the of and to is was that with for are said has have from this which were by its a",
    "pl": "i w z na się nie że do jest oraz przez dla jak od po są który która także",
    "cs": "se je že ve pro které jsou také podle byl jako jeho bude",
    "sk": "sa je že vo pre ktoré sú tiež podľa bol ako jeho bude",
    "sl": "in je v na da se za so ki pa tudi ter bo",
    "hr": "i je u na da se za su od koji kao što iz će",
    "sq": "e të në dhe për me një nga që është ka janë",
    "it": "il di che è la le per del della un una sono non con gli dei nel sta",
    "es": "el de que y la los las en por con para del una es se al",
    "pt": "o de que e a os as em para com do da não uma é no na",
    "fr": "le la les de des et est que un une du dans pour sur au qui pas",
    "de": "der die und das ist nicht den mit von zu ein eine dem auf sich für",
    "ro": "și de la în cu că este pe din care un o al fost",
    "tr": "ve bir bu için ile olarak olan çok daha gibi ama değil",
    "lt": "ir kad yra su į iš buvo tai kaip bet",
    "lv": "un ir ar par no uz ka kas tas bet",
    "et": "ja on et ei see ka oli kui mis",
    "fi": "ja on että ei se oli kun mutta myös",
    "hu": "a az és hogy nem is egy van meg volt",
    "el": "και το η της του να οι τα σε με για",
    "nl": "de het een en van is dat op te in niet met voor zijn",
    "ca": "el la i de que els les amb per és una del",
    "sv": "och att det som en är av för med på inte",
    "da": "og at det som en er af for med på ikke til",
    "id": "dan yang di ini itu dengan untuk dari dalam tidak akan pada juga",
}
# Words that are also common English words never vote for another language: English
# headlines are full of names and quotes, and "a", "as", "do", "no", "is", "for", "at"
# must not make them Portuguese, Dutch or Danish.
_ENGLISH_WORDS = frozenset(
    (_FUNCTION_WORDS["en"] + " a an as at do no on in is it be or so me he we us up am met").split()
)
_VOTES: dict[str, tuple[str, ...]] = {}
for _lang, _words in _FUNCTION_WORDS.items():
    for _w in _words.split():
        if _lang != "en" and _w in _ENGLISH_WORDS:
            continue
        _VOTES[_w] = (*_VOTES.get(_w, ()), _lang)
# A word shared by n languages ("la": Italian, Spanish, French, Catalan) gives each 1/n.
_WEIGHTS = {w: tuple((lang, 1.0 / len(langs)) for lang in langs) for w, langs in _VOTES.items()}
# Letters only one of these languages uses: each distinct one present is a vote. Short
# headlines ("Korea dostarczyła Rosji artylerię") may hold no function word at all.
_LETTERS = {
    "pl": "ąęłśźżćń",
    "cs": "řůě",
    "sk": "ľĺŕô",
    "sq": "ë",
    "tr": "ığş",
    "hu": "őű",
    "ro": "șțăî",
    "de": "ß",
    "es": "ñ",
    "pt": "ãõ",
    "lt": "ėųį",
    "lv": "āēīķļņ",
    "da": "øæ",
}
_LETTER_VOTES = {c: lang for lang, letters in _LETTERS.items() for c in letters}
# A language wins with this many votes and WIN_RATIO times the votes of any other: running
# text in a language gives a clear majority; a list of names or a mixed headline does not,
# and a wrong language would load its dictionary for nothing.
MIN_VOTES = 1.5
WIN_RATIO = 2
# Turkish suffixes written after an apostrophe on names ("Bakanlığı'na", "Rusya'ya"): a
# Turkish headline may hold no function word at all, but these mark it.
_TURKISH_APOSTROPHE_RE = re.compile(r"\w['’](?:n?[ıiuü]n|[dt][ae]n?|y?[ae]|n[ae]|l[ae]r)\b")
_WORD_RE = re.compile(r"[^\W\d_]+")


def detect_language(text: str) -> str:
    """ISO 639-1 code of the text's language by a function-word vote, "" when unsure.

    Only languages that matter to matching are told apart (those lemmatised, and English
    for the inflection guard); "" means "none of them, or too little text to tell".
    """
    sample = text[:DETECT_CHARS]
    counts: dict[str, float] = {}
    for word in _WORD_RE.findall(sample.lower()):
        for lang, weight in _WEIGHTS.get(word, ()):
            counts[lang] = counts.get(lang, 0.0) + weight
    if not sample.isascii():
        for c in set(sample.lower()) & _LETTER_VOTES.keys():
            lang = _LETTER_VOTES[c]
            counts[lang] = counts.get(lang, 0) + MIN_VOTES
    if _TURKISH_APOSTROPHE_RE.search(sample):
        counts["tr"] = counts.get("tr", 0) + MIN_VOTES
    if not counts:
        return ""
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    best, votes = ranked[0]
    if votes < MIN_VOTES or (len(ranked) > 1 and ranked[1][1] * WIN_RATIO > votes):
        return ""  # too little evidence, or no clear winner: lemmatise nothing
    return best


def lemma_codes() -> list[str]:
    """simplemma codes of every language whose dictionary the matcher reads (the lemmatised
    ones, English for the inflection guard, and the known-word ones)."""
    return sorted({*LEMMA_LANGS.values(), "en", *KNOWN_WORD_LANGS})


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
    code = "en" if lang == "en" else LEMMA_LANGS.get(lang)
    if code is None and lang in KNOWN_WORD_LANGS:
        code = lang
    if code is None:
        return False
    try:
        # simplemma.is_known: NFC, then a dictionary look-up (exact, then other casing)
        return _known_lookup().get_lemma(unicodedata.normalize("NFC", word), code) is not None
    except (ValueError, KeyError, OSError):
        return False
