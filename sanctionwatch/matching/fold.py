"""A word folded to lower-case ASCII letters and digits: what every analysed form starts from."""

from __future__ import annotations

import re
import unicodedata

from anyascii import anyascii

__all__ = ["fold_ascii"]

_NON_ALNUM_RE = re.compile(r"[^a-z0-9]+")


def fold_ascii(word: str) -> str:
    """NFKC, case-folded, diacritics stripped, transliterated with anyascii, then only
    [a-z0-9] kept ("Шойгу" → "shoygu", "Kim Jong-un" → "kimjongun")."""
    if word.isascii():  # NFKC, NFD and anyascii leave ASCII as it is; casefold is lower
        return _NON_ALNUM_RE.sub("", word.lower())
    folded = unicodedata.normalize("NFKC", word).casefold()
    stripped = "".join(
        c for c in unicodedata.normalize("NFD", folded) if not unicodedata.combining(c)
    )
    return _NON_ALNUM_RE.sub("", anyascii(stripped).lower())
