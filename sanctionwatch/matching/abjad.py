"""Keys of Arabic-script and Hebrew words (``normalize.analyse_word`` and ``alias_word``).

These scripts write few vowels, so a transliteration is lossy ("بيع" → "by"): such words
match only words of the same script, by their keys. A word's keys are its cores: the word
itself, the word less its leading clitics (``scripts.arabic_cores``/``hebrew_cores``) and the
Persian plural/ezafe stems of those. A text word and an alias word meet when a key of one
is a key of the other, whichever side carried the affix.

The two sides differ in one way. A text word offers every core it may be ("وبالروسية":
بالروسية, الروسية, روسية), since any of its first letters may be a clitic. An alias word
is written bare, so its first letter is its own: it offers itself and itself less the
article only. Cutting the ب of the Persian بلاروسی (Belarusian) would leave لاروسی, which
with its alif silent is the Arabic الروسي, "the Russian".
"""

from __future__ import annotations

import re

from sanctionwatch.matching.fold import fold_ascii
from sanctionwatch.matching.scripts import (
    arabic_cores,
    arabic_name_core,
    hebrew_cores,
    hebrew_name_core,
    is_hebrew,
    persian_core,
)

__all__ = ["ABJAD_MIN_CORE_KEY", "ABJAD_MIN_KEY", "ABJAD_RE", "abjad_form"]

ABJAD_RE = re.compile(
    r"[\u0590-\u05ff\u0600-\u06ff\u0700-\u074f\u0750-\u077f\u0780-\u07bf\ufb1d-\ufdff\ufe70-\ufeff]"
)
_ABJAD_MARK = "~"  # Arabic script (Arabic, Persian, Urdu): one namespace
_HEBREW_MARK = "^"  # Hebrew: its own namespace ("את" is not the Arabic "باعت" core "اعت")
# An abjad key needs this many transliterated letters: one consonant meets too much.
ABJAD_MIN_KEY = 2
# A core cut out of a longer word needs one more: the Hebrew Mali (מאלי) without what looks
# like the preposition מ is "ly", which is also the word לי ("to me", "mine").
ABJAD_MIN_CORE_KEY = 3
# Letters the transliteration drops (anyascii writes the Arabic ain and the Hebrew ayin as
# a backtick, which the fold removes) that are consonants of their own, as Arabizi writes
# them: without, تعرضت ("was exposed to") and اعترضت ("intercepted") were both "trdt".
_KEPT_LETTERS = str.maketrans({"ع": "3", "ע": "3"})


def abjad_form(word: str, alias: bool) -> tuple[str, tuple[str, ...]]:
    """The main key of ``word`` and its other keys, marked by script.

    ``alias``: the word is part of a watchlist name (only the article is cut).
    """
    hebrew = is_hebrew(word)
    mark = _HEBREW_MARK if hebrew else _ABJAD_MARK
    # The main key is the word less only its article, on both sides: the same word is
    # "exact", and a text word met by a core cut further ("وروسيا", and Russia) an "affix".
    main = hebrew_name_core(word) if hebrew else arabic_name_core(word)
    cores = [main, word]
    if not alias:
        cores += hebrew_cores(word) if hebrew else arabic_cores(word)
    if not hebrew:
        cores += [persian_core(c) for c in cores]
    keys: list[str] = []
    for c in cores:
        k = fold_ascii(c.translate(_KEPT_LETTERS))
        least = ABJAD_MIN_KEY if c == word else ABJAD_MIN_CORE_KEY
        if len(k) >= least and mark + k not in keys:
            keys.append(mark + k)
    if not keys:  # one consonant or less: only the same word, letter for letter
        keys = [mark + word]
    return keys[0], tuple(keys[1:])
