"""A word folded to lower-case ASCII letters and digits: what every analysed form starts from."""

from __future__ import annotations

import re
import unicodedata

from anyascii import anyascii

__all__ = ["fold_ascii"]

_NON_ALNUM_RE = re.compile(r"[^a-z0-9]+")


def fold_ascii(word: str, marks: bool = False) -> str:
    """NFKC, case-folded, diacritics stripped, transliterated with anyascii, then only
    [a-z0-9] kept ("Шойгу" → "shoygu", "Kim Jong-un" → "kimjongun").

    ``marks``: keep the combining marks for anyascii to read, for scripts where a mark
    makes another sound rather than an accent (the kana ガ is "ga", カ "ka")."""
    if word.isascii():  # NFKC, NFD and anyascii leave ASCII as it is; casefold is lower
        return _NON_ALNUM_RE.sub("", word.lower())
    folded = unicodedata.normalize("NFKC", word).casefold()
    if not marks:
        folded = "".join(
            c for c in unicodedata.normalize("NFD", folded) if not unicodedata.combining(c)
        )
    return _NON_ALNUM_RE.sub("", anyascii(folded).lower())
