"""Script-level clean-up before tokenising, and the affix rules of abjad scripts.

``clean_text`` removes every Unicode format character (category Cf: LRM/RLM, ZWNJ, ZWJ,
zero-width space, word joiner, soft hyphen, BOM, bidi embeddings and isolates, Arabic
number signs, tag characters) and folds every decimal digit (Arabic-Indic ٠-٩, Extended
Arabic-Indic ۰-۹, Devanagari ०-९, full-width ０-９, ...) to ASCII. It returns the cleaned
text plus a map from cleaned offsets back to the original string, so every match still
points into the text the analyst sees. A text with no such character is returned as is
(the common case costs one pass over the text).

Why strip rather than treat them as separators: all of them are invisible. A reader sees
"Пу\u2060тин" as Putin, so the matcher must too. Persian ZWNJ (U+200C) is the one with
orthographic meaning: it keeps the letters of a suffix from joining the stem
("پهپاد\u200cهای", drones-of). Writers put the same suffix joined ("پهپادهای"), after a
ZWNJ or after a space, depending on keyboard and habit; stripping ZWNJ makes the first two
spellings one string, and the Persian suffix folding below then meets both with the stem
"پهپاد". Treating ZWNJ as a word break instead would make "های" a token of its own and the
joined spelling a different word, so the two spellings would still not meet.
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata

__all__ = [
    "CleanText",
    "clean_text",
    "one_script",
    "prepare_tables",
    "script_of",
    "strip_format",
    "arabic_cores",
    "arabic_name_core",
    "hebrew_cores",
    "hebrew_name_core",
    "persian_core",
]

# Planes scanned for Cf and Nd characters: the BMP and the SMP/SIP (every decimal digit and
# every format character but the tag block), and the tag block U+E0000-U+E0FFF. Scanning
# these instead of all 1.1M code points keeps the one-off table build at ~30 ms.
_SCAN_RANGES = ((0, 0x20000), (0xE0000, 0xE1000))


def _ranges(codes: list[int]) -> str:
    """A regex character class body for sorted code points, as ranges (fast to search)."""
    out: list[str] = []
    i = 0
    while i < len(codes):
        j = i
        while j + 1 < len(codes) and codes[j + 1] == codes[j] + 1:
            j += 1
        lo, hi = re.escape(chr(codes[i])), re.escape(chr(codes[j]))
        out.append(lo if i == j else f"{lo}-{hi}")
        i = j + 1
    return "".join(out)


@functools.lru_cache(maxsize=1)
def _tables() -> tuple[re.Pattern[str], frozenset[str], frozenset[str], dict[int, str]]:
    """(format characters as a regex, and as a set; format characters and non-ASCII
    digits; the digit fold table). The sets answer "does this text hold any?": a set of
    the text's characters meets them five times faster than a search with the class."""
    fmt: list[int] = []
    digits: dict[int, str] = {}
    for lo, hi in _SCAN_RANGES:
        for cp in range(lo, min(hi, sys.maxunicode + 1)):
            cat = unicodedata.category(chr(cp))
            if cat == "Cf":
                fmt.append(cp)
            elif cat == "Nd" and cp > 0x7F:
                digits[cp] = str(unicodedata.decimal(chr(cp)))
    fmt_chars = frozenset(map(chr, fmt))
    return re.compile(f"[{_ranges(fmt)}]"), fmt_chars, fmt_chars | set(map(chr, digits)), digits


class CleanText:
    """A cleaned text and the way back: ``original_offset(i)`` for any cleaned offset."""

    __slots__ = ("original", "text", "_map")

    def __init__(self, original: str, text: str, offsets: list[int] | None) -> None:
        self.original = original
        self.text = text
        self._map = offsets  # None: offsets are identical

    @property
    def shifted(self) -> bool:
        """True when format characters were removed (offsets need mapping back)."""
        return self._map is not None

    def start(self, i: int) -> int:
        """Original offset of the character at cleaned offset ``i``."""
        return i if self._map is None else self._map[i]

    def end(self, i: int) -> int:
        """Original offset just after the character before cleaned offset ``i``."""
        return i if self._map is None else self._map[i - 1] + 1


@functools.lru_cache(maxsize=65_536)
def script_of(word: str) -> str:
    """The script of a word's first letter by its Unicode name ("LATIN", "CYRILLIC",
    "GREEK", "DEVANAGARI", ...), "" for a word without letters or an ASCII word ("LATIN")."""
    if word.isascii():
        return "LATIN" if any(c.isalpha() for c in word) else ""
    for c in word:
        if c.isalpha():
            return unicodedata.name(c, "").split(" ", 1)[0]
    return ""


def prepare_tables() -> None:
    """Build the format-character and digit tables now (about 0.1 s), not on the first
    non-ASCII text."""
    _tables()


def one_script(a: str, b: str) -> bool:
    """Two words in one script (or one of them unknown: glued tokens carry no word)."""
    return not a or not b or script_of(a) == script_of(b)


def strip_format(text: str) -> str:
    """``text`` without its format characters (for short gaps between tokens)."""
    return text if text.isascii() else _tables()[0].sub("", text)


def clean_text(text: str) -> CleanText:
    """Strip format characters and fold decimal digits (see the module docstring)."""
    if text.isascii():
        return CleanText(text, text, None)
    fmt, fmt_chars, either, digits = _tables()
    present = set(text)
    if either.isdisjoint(present):  # the common case: nothing to do
        return CleanText(text, text, None)
    folded = text.translate(digits)  # one character for one: offsets unchanged
    if fmt_chars.isdisjoint(present):
        return CleanText(text, folded, None)
    kept: list[str] = []
    offsets: list[int] = []
    for i, ch in enumerate(folded):
        if not fmt.match(ch):
            kept.append(ch)
            offsets.append(i)
    offsets.append(len(text))  # sentinel: end() of the last character
    return CleanText(text, "".join(kept), offsets)


# --- Persian ---------------------------------------------------------------------------
# Plural and ezafe suffixes, longest first. Persian writes them joined to the noun
# ("پهپادهای", drones-of), after a ZWNJ (stripped above) or as a separate word. Removed on
# both sides alike (aliases and texts) while a stem of PERSIAN_MIN_STEM letters remains.
_PERSIAN_SUFFIXES = ("هایی", "های", "ها", "یی", "ای", "ی")
PERSIAN_MIN_STEM = 3
_PERSIAN_LETTERS = frozenset("پچژگکی")  # letters Arabic does not use (Persian ک and ی)


def is_persian(word: str) -> bool:
    return not _PERSIAN_LETTERS.isdisjoint(word)


def persian_core(word: str) -> str:
    """The word without one plural/ezafe suffix: پهپادهای → پهپاد, موشک‌ها → موشک."""
    for suffix in _PERSIAN_SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= PERSIAN_MIN_STEM:
            return word[: -len(suffix)]
    return word


# --- Hebrew ----------------------------------------------------------------------------
# Proclitics written as prefixes of the next word: ו (and), ש (that), then one of ב (in),
# ל (to), מ (from), כ (as), then the article ה: "ולאיראן", "מהרוסי", "שהצפונית". A text
# word offers itself less each of them in turn, an alias word itself and itself less the
# article, each while a core of HEBREW_MIN_CORE letters remains, so short words (the
# accusative "את", "של") are never cut down to something else.
_HEBREW_CONJ = ("ו", "ש")
_HEBREW_PREP = ("ב", "ל", "מ", "כ")
_HEBREW_ARTICLE = "ה"
HEBREW_MIN_CORE = 3
_HEBREW_RE = re.compile(r"[\u0590-\u05ff\ufb1d-\ufb4f]")


def is_hebrew(word: str) -> bool:
    return _HEBREW_RE.search(word) is not None


def hebrew_cores(word: str) -> list[str]:
    """The word less each of its leading proclitics in turn, the last the barest:
    ולאיראן → לאיראן, איראן; מקוריאה → קוריאה (a text word offers every one of them)."""
    out = []
    core = word
    for prefixes in (_HEBREW_CONJ, _HEBREW_PREP, (_HEBREW_ARTICLE,)):
        if core.startswith(prefixes) and len(core) - 1 >= HEBREW_MIN_CORE:
            core = core[1:]
            out.append(core)
    return out


def hebrew_name_core(word: str) -> str:
    """An alias word less only the article: names are written bare, so a מ or ל that
    starts one is its own letter (מאלי, Mali, is not מ + אלי)."""
    if word.startswith(_HEBREW_ARTICLE) and len(word) - 1 >= HEBREW_MIN_CORE:
        return word[1:]
    return word


# Arabic writes conjunctions, prepositions and the article as prefixes of the next word:
# "وروسيا" (and Russia), "لروسيا" (to Russia), "الروسية" (the Russian). A text word offers
# itself less each of them in turn; an alias word itself and itself less the article (a
# name's first letter is its own). Only while a core of ARABIC_MIN_CORE letters remains, so
# short words ("بيع", sale) are never cut down to something else.
_ARABIC_CONJ = ("و", "ف")
_ARABIC_PREP = ("ب", "ل", "ك")
_ARABIC_ARTICLES = ("ال", "لل")
ARABIC_MIN_CORE = 3


def arabic_cores(word: str) -> list[str]:
    """The word less each of its leading clitics in turn (و/ف, then ب/ل/ك, then ال), the
    last the barest: وبالروسية → بالروسية, الروسية, روسية. A text word offers every one."""
    out = []
    core = word
    if core.startswith(_ARABIC_CONJ) and len(core) - 1 >= ARABIC_MIN_CORE:
        core = core[1:]
        out.append(core)
    for article in _ARABIC_ARTICLES:
        if core.startswith(article) and len(core) - 2 >= ARABIC_MIN_CORE:
            if article == "لل":  # ل + ال with its alif dropped, or ل before a name's ل
                out.append(core[1:])  # للبنان: to Lebanon
            out.append(core[2:])
            return out
    if core.startswith(_ARABIC_PREP) and len(core) - 1 >= ARABIC_MIN_CORE:
        core = core[1:]
        out.append(core)
        if core.startswith("ال") and len(core) - 2 >= ARABIC_MIN_CORE:
            out.append(core[2:])
    return out


def arabic_name_core(word: str) -> str:
    """An alias word less only the article ال: names are written bare, so a ب, ل or و
    that starts one is its own letter (بلاروسی, Belarusian, is not ب + لاروسی, which the
    silent alif makes the text's الروسي, "the Russian")."""
    if word.startswith("ال") and len(word) - 2 >= ARABIC_MIN_CORE:
        return word[2:]
    return word
