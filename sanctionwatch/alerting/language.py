"""A guess at an item's language, for the analyst's eye ("ru", "en", ...), never for matching.

Feeds rarely declare a language per item, and the matcher does not need one. The message only
has to tell a reader in which language the text is: the script decides for Korean, Arabic and
Hebrew; Cyrillic is Ukrainian when it uses letters Russian lacks; Latin-script text is judged
by its commonest function words. Anything unclear is "?".
"""

from __future__ import annotations

import functools
import re
import unicodedata

# Function words that are frequent in one language and rare in the others we watch.
STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset("the and of to in is that with for was said has have from".split()),
    "de": frozenset("der die das und nicht mit sich auf ist den dem von eine wurde".split()),
    "fr": frozenset("le la les et des une est dans pour que qui sur avec aux du".split()),
    "es": frozenset("el los las y del una por con para que se según fue como".split()),
    "it": frozenset("il gli della che per una con sono nel alla dei degli ha".split()),
    "pl": frozenset("i w na z że się nie do jest przez oraz dla od jak".split()),
}
UKRAINIAN_LETTERS = frozenset("іїєґІЇЄҐ")
# At least this many function words before a Latin-script guess is trusted: a headline of
# names ("Kim Jong Un, Putin") says nothing about its language.
MIN_STOPWORD_HITS = 2
_WORD_RE = re.compile(r"\w+")
# Distinct letters whose script is remembered: a text repeats a few dozen letters, and
# looking each one's Unicode name up again cost 2 ms per alert of 800 characters.
_SCRIPT_CACHE = 8192


@functools.lru_cache(maxsize=_SCRIPT_CACHE)
def _script(ch: str) -> str:
    name = unicodedata.name(ch, "")
    for script in ("HANGUL", "CYRILLIC", "ARABIC", "HEBREW", "CJK", "LATIN"):
        if name.startswith(script) or f" {script} " in f" {name} ":
            return script
    return ""


def guess_language(text: str) -> str:
    """ISO 639-1 code of the text's language, or "?" when it cannot be told."""
    counts: dict[str, int] = {}
    for ch in text[:4000]:
        if ch.isalpha():
            script = _script(ch)
            counts[script] = counts.get(script, 0) + 1
    if not counts:
        return "?"
    script = max(counts, key=lambda k: counts[k])
    if script == "HANGUL":
        return "ko"
    if script == "ARABIC":
        return "ar"
    if script == "HEBREW":
        return "he"
    if script == "CYRILLIC":
        return "uk" if any(ch in UKRAINIAN_LETTERS for ch in text) else "ru"
    if script != "LATIN":
        return "?"
    words = [w.lower() for w in _WORD_RE.findall(text[:4000])]
    hits = {lang: sum(w in stop for w in words) for lang, stop in STOPWORDS.items()}
    best = max(hits, key=lambda k: hits[k])
    return best if hits[best] >= MIN_STOPWORD_HITS else "?"
