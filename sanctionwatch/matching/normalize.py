"""Text normalisation for matching: tokens with offsets, transliteration, romanisation keys.

Every word of a text (and of every watchlist name) is analysed into three forms:

* ``norm``: NFKC, case-folded, diacritics stripped, transliterated to ASCII with anyascii,
  apostrophes and possessive ``'s`` removed ("Putin’s" → "putin", "Шойгу" → "shoygu").
* ``key``: ``norm`` rewritten by ``variants.VARIANT_RULES`` so that the usual romanisation variants
  of one name collapse ("Yevgeny", "Evgeny", "Evgueni", "Evgenii" → "evgeni").
* ``block``: for Cyrillic words, the key of the word with its case ending removed
  ("Путиным" → "putin", "Северной" → "severn"), so declined forms meet their base form.
  For every other script ``block == key``.

Hangul and CJK words are split into one token per syllable/character (anyascii gives
'GimJeongEun' for 김정은): a Korean name then matches a word that carries a particle
('김정은이', '북한의') because the particle is just one more syllable after the name. Syllable
tokens carry a marker prefix in ``key`` so they never meet Latin tokens ("un" in Korean is
not "Un" in "Kim Jong Un").
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from sanctionwatch.matching.abjad import ABJAD_RE, abjad_form
from sanctionwatch.matching.fold import fold_ascii
from sanctionwatch.matching.marks import ASTRAL_MARKS, OTHER_MARKS
from sanctionwatch.matching.scripts import clean_text
from sanctionwatch.matching.variants import variant_key

__all__ = [
    "Analysed",
    "Token",
    "alias_word",
    "TextTokens",
    "analyse_text",
    "analyse_word",
    "astuple",
    "normalize_name",
    "tokenize",
    "variant_key",
]


@dataclass(frozen=True)
class Token:
    """One normalised token of a text, with char offsets into the ORIGINAL string."""

    text: str  # normalised form
    start: int
    end: int
    index: int  # word position (all syllables of one Korean word share it)


@dataclass(frozen=True, slots=True, eq=False)
class Analysed:
    """How the matcher sees one token. Compared and hashed by identity (fast cache key):
    ``analyse_word`` is cached, so one word gives one object; use ``astuple`` for values."""

    norm: str
    key: str
    block: str
    exact_only: bool  # acronym or contains a digit: only an identical norm matches
    syllabic: bool  # Hangul / CJK syllable token
    cyrillic: bool
    cstem: str = ""  # Cyrillic words: lower-case stem without case ending ("путин")
    # More keys of the same word: abjad words with and without their clitics/suffixes
    # ("לאיראן" → also "איראן"). Two tokens meet when their key sets intersect.
    alts: tuple[str, ...] = ()
    word: str = ""  # the surface as written (what the lemmatiser looks up)

    def __reduce__(self) -> tuple[type[Analysed], tuple[object, ...]]:
        # Rebuilt by the constructor from its values: a cached engine holds one per
        # distinct name token, and this loads in 60% of the time of the generic state
        # (``Matcher.load`` of the OFAC list: 0.35 → 0.20 s for its 43k tokens).
        return (Analysed, astuple(self))


def astuple(a: Analysed) -> tuple[str, str, str, bool, bool, bool, str, tuple[str, ...], str]:
    """The value of an ``Analysed`` (for de-duplication by value)."""
    return (a.norm, a.key, a.block, a.exact_only, a.syllabic, a.cyrillic, a.cstem, a.alts, a.word)


# A word: letters/digits, combining marks (decomposed accents, Indic vowel signs, and every
# other script's: `marks.OTHER_MARKS`) and apostrophes between letters (O'Brien, Cho'ngsong,
# Putin's).
_WORD_RE = re.compile(
    r"[^\W_](?:[^\W_]+|[\u0300-\u036f\u0483-\u0489\u0591-\u05c7\u0610-\u061a\u064b-\u065f"
    r"\u0670\u0900-\u0963\u0966-\u0dff" + OTHER_MARKS + r"]+|['’ʼ`](?=[^\W_])"
    r"|(?=[\U00010000-\U0010ffff])[" + ASTRAL_MARKS + r"]+)*+"
)  # runs of letters and of marks each matched in one step (possessive: no backtracking)
_WORD_SPLIT_RE = re.compile(f"({_WORD_RE.pattern})")
_POSSESSIVE_RE = re.compile(r"['’ʼ`][sS]$")
# French/Italian elided articles and prepositions glued by an apostrophe: "l'Iran",
# "d'Iran", "qu'Israël", "dell'Iran" are the name after the apostrophe. Other apostrophes
# stay inside the word (Cho'ngsong, O'Brien).
_ELISION_RE = re.compile(
    r"^(?:[ldjmnstc]|qu|jusqu|lorsqu|puisqu|dell|all|nell|sull|dall|coll|un)['’ʼ`](?=[^\W_]{2})",
    re.IGNORECASE,
)
# English contractions: "don't", "isn’t", "we'll", "I'm", "they'd". One word of ordinary
# speech each, never a name: without the apostrophe "Don't" would be "dont", which is the
# OFAC alias "DON T" glued. 'd/'m/'re/'ve/'ll only after a pronoun (names like "Sa'd").
_CONTRACTION_RE = re.compile(
    r"^(?:[a-z]+n['’ʼ`]t|(?:i|you|we|they|he|she|it|that|there|who|what|where|how)"
    r"['’ʼ`](?:d|m|re|ve|ll))$",
    re.IGNORECASE,
)
_CONTRACTION_MARK = "'"  # key/norm prefix of contractions: they meet only themselves
# Hangul syllables, Hangul jamo, kana, CJK ideographs: one token per character.
_SYLLABIC_RE = re.compile(
    r"[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7a3]"
)
_HANGUL_RE = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")
_HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")  # CJK ideographs (Chinese characters)
_CYRILLIC_RE = re.compile(r"[\u0400-\u04ff]")
_SYLLABLE_MARK = "~"  # prefix of syllable keys: keeps them apart from Latin keys
# Acronyms are written in capitals: KOMID, DPRK, КНДР, RPDC. Longer all-caps words are
# usually shouted headlines ("PUTIN MEETS KIM"), which must still match normally.
ACRONYM_MAX_LEN = 6
# A Cyrillic stem must keep this many letters: "Ким" must not lose "им" and become "К".
MIN_CYRILLIC_STEM = 3
# ...and its key must be this long to be used at all: 3-letter stems are too ambiguous
# ("Россия" → "ros" would meet the verb "рос", grew), so such words match only whole.
MIN_BLOCK_LEN = 4

# Russian and Ukrainian case endings (nouns, adjectives, surnames), longest first. Removing
# one of them maps declined forms onto one stem: Путин/Путина/Путиным, Корея/Кореи/Корею,
# Пхеньян/Пхеньяна/Пхеньяне. Stemming the Cyrillic word (before transliteration) is simpler
# and more predictable than a per-name list of allowed suffixes, and it is the same rule
# for names and texts, so it cannot create asymmetric matches. The plural/possessive
# -ов/-ев/-ова/-ева are left out on purpose: they make new surnames (Путин → Путинов).
_CYRILLIC_ENDINGS = tuple(
    sorted(
        """ами ями ого его ому ему ыми ими ией ої ою ею ій ий ый ой ей ая яя ое ее
        ые ие ую юю ом ем ам ям ах ях ым им ых их ия ии ию ью а я о е ы и у ю й ь і ї
        """.split(),
        key=len,
        reverse=True,
    )
)


_CYRILLIC_STEM_VOWELS = frozenset("аеёиоуыэюяйьіїє")
# The same endings transliterated, for short words whose stem is too short to key on.
CYRILLIC_ENDINGS_ASCII = frozenset(fold_ascii(e) for e in _CYRILLIC_ENDINGS) - {""}


def _cyrillic_stem(word: str) -> str:
    """Word minus its case ending and any vowel left before it.

    Endings overlap (Андрей loses "ей" but Андрея only "я"; Корея "я" but Корею "ею"),
    so after the longest ending goes, trailing vowels and й go too: Андр-, Кор-, Серг-.
    """
    lower = word.lower()
    for ending in _CYRILLIC_ENDINGS:
        if lower.endswith(ending) and len(lower) - len(ending) >= MIN_CYRILLIC_STEM:
            lower = lower[: -len(ending)]
            break
    while len(lower) > MIN_CYRILLIC_STEM and lower[-1] in _CYRILLIC_STEM_VOWELS:
        lower = lower[:-1]
    return lower


@functools.lru_cache(maxsize=262_144)
def analyse_word(word: str) -> Analysed:
    """Analyse one word (no spaces; possessive already removed). Cached: news repeats words."""
    norm = fold_ascii(word)
    plain = word.isascii()  # most words: no script below to look for
    if not plain and _SYLLABIC_RE.match(word):
        # A Chinese character is itself: its romanisation joins homophones (额 "amount" and
        # 俄 "Russia" are both "e", 牌前 and 派遣 "dispatch" both "paiqian"). Hangul and kana
        # spell sounds, and keep their romanisation.
        # The voicing marks of kana are sounds, not accents: ガ is "ga", not カ "ka".
        norm = word if _HAN_RE.match(word) else fold_ascii(word, marks=True)
        key = _SYLLABLE_MARK + norm
        return Analysed(norm, key, key, True, True, False)
    if not plain and ABJAD_RE.search(word):
        main, alts = abjad_form(word, alias=False)
        return Analysed(main, main, main, True, False, False, "", alts, word)
    cyrillic = not plain and bool(_CYRILLIC_RE.search(word))
    key = variant_key(norm)
    cstem = _cyrillic_stem(word) if cyrillic else ""
    block = variant_key(fold_ascii(cstem)) if cyrillic else key
    if len(block) < MIN_BLOCK_LEN:
        block = key
    has_digit = bool(norm) and not norm.isalpha()  # norm is [a-z0-9]*
    acronym = 2 <= len(word) <= ACRONYM_MAX_LEN and word.isupper()
    return Analysed(norm, key, block, has_digit or acronym, False, cyrillic, cstem, (), word)


def alias_word(a: Analysed) -> Analysed:
    """How a word of a watchlist name is filed: as ``analyse_word`` sees it, but an Arabic
    or Hebrew word keeps its first letter (``abjad``: only the article is cut)."""
    if a.syllabic or not a.alts or not ABJAD_RE.search(a.word):
        return a
    return _alias_abjad(a.word)


@functools.lru_cache(maxsize=65_536)
def _alias_abjad(word: str) -> Analysed:
    main, alts = abjad_form(word, alias=True)
    return Analysed(main, main, main, True, False, False, "", alts, word)


@functools.lru_cache(maxsize=4_096)
def analyse_contraction(word: str) -> Analysed:
    """An English contraction is one word that matches only itself ("don't" = "don’t"):
    marked, exact-only, so neither a glued alias ("DON T") nor fuzziness reaches it."""
    key = _CONTRACTION_MARK + fold_ascii(word)
    return Analysed(key, key, key, True, False, False, "", (), word)


@dataclass(slots=True)
class TextTokens:
    """Parallel lists describing the tokens of one text (internal fast path)."""

    text: str
    starts: list[int]
    ends: list[int]
    words: list[int]  # word index of each token
    infos: list[Analysed]
    word_start: list[bool]  # first token of its word (a Korean name must start a word)
    clean: str = ""  # the text without format characters, digits folded (what was tokenised)
    # Per token: the analysed lemma in the item's language, or None (see matching.lemmas)
    lemmas: list[Analysed | None] | None = None
    lang: str = ""


def analyse_text(text: str) -> TextTokens:
    """Tokenise and analyse a text: the matcher's view of it.

    Tokens are found in the cleaned text (``scripts.clean_text``: no format characters,
    ASCII digits), and their offsets mapped back, so they point into ``text`` itself. What
    a surface word becomes is cached per surface string (``_surface``): news repeats its
    vocabulary, so most words cost one dict look-up.
    """
    ct = clean_text(text)
    out = TextTokens(text, [], [], [], [], [], ct.text)
    starts, ends, infos = out.starts, out.ends, out.infos
    cache = _SURFACE_CACHE
    word_index = 0
    syllabic = False  # once a Hangul/CJK word is met, word and token indexes differ
    # One split gives the words and the gaps between them (no match object per word):
    # [gap, word, gap, word, ..., gap]; a word's offset is the length of what precedes it.
    parts = _WORD_SPLIT_RE.split(ct.text)
    pos = len(parts[0])
    for surface, gap in zip(parts[1::2], parts[2::2], strict=True):
        hit = cache.get(surface)
        if hit is None:
            hit = cache[surface] = _surface(surface)
            if len(cache) >= _SURFACE_CACHE_MAX:
                cache.clear()
        delta, length, info, pieces = hit
        start = pos + delta
        pos += len(surface) + len(gap)
        if info is _SYLLABIC:
            if not syllabic:
                syllabic = True
                out.words[:] = range(len(infos))
                out.word_start[:] = [True] * len(infos)
            _add_syllables(pieces, start, word_index, out)
        else:
            starts.append(start)
            ends.append(start + length)
            infos.append(info)
            if syllabic:
                out.words.append(word_index)
                out.word_start.append(True)
        word_index += 1
    if not syllabic:
        out.words[:] = range(len(infos))
        out.word_start[:] = [True] * len(infos)
    if ct.shifted:
        out.starts[:] = [ct.start(s) for s in starts]
        out.ends[:] = [ct.end(e) for e in ends]
    return out


# One syllable token of a Hangul/CJK word: (offsets in the kept part, analysis, whether
# it starts a word).
Piece = tuple[int, int, Analysed, bool]
# How one surface word (a match of _WORD_RE) is tokenised: (offset of the kept part, its
# length, its analysis, its syllables: for a Hangul/CJK word the analysis is _SYLLABIC and
# the syllables are its tokens, split once per surface word). Bounded like
# ``analyse_word``'s cache; cleared when full (it refills from the next texts' words).
_SYLLABIC = Analysed("", "", "", True, True, False)
_SURFACE_CACHE: dict[str, tuple[int, int, Analysed, tuple[Piece, ...]]] = {}
_SURFACE_CACHE_MAX = 262_144


def _surface(surface: str) -> tuple[int, int, Analysed, tuple[Piece, ...]]:
    """Elision, possessive and contraction handling of one word, then its analysis."""
    delta = 0
    if not surface.isalnum():  # most words have no apostrophe or accent mark
        elided = _ELISION_RE.match(surface)
        if elided:
            surface = surface[elided.end() :]
            delta = elided.end()
        poss = _POSSESSIVE_RE.search(surface)
        if poss and len(surface) > 2:
            surface = surface[: poss.start()]
        if _CONTRACTION_RE.match(surface):
            return delta, len(surface), analyse_contraction(surface), ()
    if not surface.isascii() and _SYLLABIC_RE.search(surface):
        return delta, len(surface), _SYLLABIC, _syllable_pieces(surface)
    return delta, len(surface), analyse_word(surface), ()


def _add_syllables(pieces: tuple[Piece, ...], start: int, word_index: int, out: TextTokens) -> None:
    """The syllable tokens of one Hangul/CJK word that starts at ``start``."""
    for pos, end, info, first in pieces:
        out.starts.append(start + pos)
        out.ends.append(start + end)
        out.words.append(word_index)
        out.infos.append(info)
        out.word_start.append(first)


def _syllable_pieces(surface: str) -> tuple[Piece, ...]:
    """One token per syllable, runs of other letters (K-팝's 'K') stay whole."""
    out = []
    first = True
    pos = 0
    while pos < len(surface):
        if _HANGUL_RE.match(surface, pos) is None:
            first = True  # Chinese/Japanese: no spaces, a name may start at any character
        if _SYLLABIC_RE.match(surface, pos):
            end = pos + 1
        else:
            end = pos
            while end < len(surface) and not _SYLLABIC_RE.match(surface, end):
                end += 1
        info = analyse_word(surface[pos:end])
        if info.norm:
            out.append((pos, end, info, first))
            first = False
        elif out and out[-1][1] == pos:  # a mark of no sound of its own (the long ー of
            out[-1] = (out[-1][0], end, *out[-1][2:])  # タンカー) ends the syllable before
        pos = end
    return tuple(out)


def tokenize(text: str) -> list[Token]:
    """Normalised tokens of ``text`` with offsets into it (possessives and accents removed)."""
    tt = analyse_text(text)
    return [
        Token(info.norm, s, e, w)
        for s, e, w, info in zip(tt.starts, tt.ends, tt.words, tt.infos, strict=True)
        if info.norm
    ]


@functools.lru_cache(maxsize=65_536)
def normalize_name(name: str) -> str:
    """A whole name normalised: space-joined token forms ("Kim Jong-un’s" → "kim jong un")."""
    return " ".join(t.text for t in tokenize(name))
