"""Romanisation variants: the rules that make the usual spellings of one name one key.

Applied in order to the ASCII form of every token, of names and of texts alike (so both
sides land on the same key): "Yevgeny", "Evgeny", "Evgueni", "Evgenii" → "evgeni".
"""

from __future__ import annotations

import functools
import itertools
import re

__all__ = ["VARIANT_RULES", "variant_key", "variant_key_reference"]

# Romanisation variant rules, applied in order to the ASCII form of every token, of names
# and of texts alike (so both sides land on the same key). Each rule merges spellings that
# different transliteration systems (BGN/PCGN, French, German, Polish, McCune-Reischauer,
# Revised Romanisation) produce for the same sound.
VARIANT_RULES: tuple[tuple[str, str, str], ...] = (
    # Korean surnames have a few fixed romanisations each (이/리, 최, 박); whole words only.
    (r"^(?:lee|rhee|yi|li|rhi)$", "ri", "Korean surname 이/리: Lee / Yi / Ri"),
    (r"^choi$", "choe", "Korean surname 최: Choi / Choe"),
    (r"^park$", "pak", "Korean surname 박: Park / Pak"),
    (r"tsch", "ch", "German for Russian ч: Lukaschenko / Lukashenko"),
    (r"sch", "sh", "German for ш: Schoigu / Shoigu"),
    (r"cz", "ch", "Polish for ч: Czen / Chen"),
    (r"sz", "sh", "Polish for ш: Łukaszenka / Lukashenka"),
    (r"dzh|dz|zh|dj", "j", "ж/дж: Prigozhin / Prigojine, Dzong / Jong"),
    (r"kh", "h", "х: Khabarovsk / Habarovsk"),
    (r"ou", "u", "French for у: Poutine / Putin, Choïgou / Shoigu"),
    (r"gu(?=[ei])", "g", "French/Spanish gu before e/i: Evgueni / Evgeni, Serguei / Sergei"),
    (r"ine$", "in", "French -ine for Russian -ин: Prigojine / Prigozhin"),
    (r"eo", "o", "Korean RR eo vs McCune-Reischauer o: Jeong / Jong, Hwaseong / Hwasong"),
    (r"eu", "u", "Korean RR eu vs MR u: Eun / Un"),
    (r"ye", "e", "е written ye or e: Yevgeny / Evgeny, Sergeyev / Sergeev"),
    (r"^je", "e", "German je for е: Jewgeni / Evgeni"),
    (r"j$", "i", "German/Polish final j for й: Sergej / Sergei"),
    (r"y", "i", "й/ы/-y endings: Shoygu / Shoigu, Yevgeniy / Evgenii / Evgeny"),
    (r"w", "v", "German/Polish w for в: Wagner / Vagner, Belousow / Belousov"),
    (r"x", "ks", "x vs ks: Alexander / Aleksandr"),
    (r"q", "k", "q vs k: Iraq / Irak"),
    (r"c(?!h)", "k", "c vs k: Corea / Korea, Victor / Viktor"),
    (r"(.)\1+", r"\1", "doubled letters: Evgenii / Evgeni, Kassem / Kasem"),
)
# A rule is tried only when the key holds one of these strings (without them its pattern
# cannot match); most words meet few rules, and ``re.sub`` costs ~2 µs even for nothing.
# A pattern with no regex syntax is replaced literally. ``variant_key_reference`` applies
# every rule as written: a test holds the two equal.
_RULE_NEEDS: dict[str, tuple[str, ...]] = {
    r"^(?:lee|rhee|yi|li|rhi)$": ("lee", "rhee", "yi", "li", "rhi"),
    r"^choi$": ("choi",),
    r"^park$": ("park",),
    r"dzh|dz|zh|dj": ("dz", "zh", "dj"),
    r"gu(?=[ei])": ("gu",),
    r"ine$": ("ine",),
    r"^je": ("je",),
    r"j$": ("j",),
    r"c(?!h)": ("c",),
}
_DOUBLED = r"(.)\1+"
_FAST_RULES = tuple(
    (p, r, None if p == _DOUBLED else _RULE_NEEDS.get(p, ()), re.compile(p))
    for p, r, _why in VARIANT_RULES
)
# Every rule without a guard is a plain string (or the doubled-letters rule).
assert all(n or n is None or p.isalpha() for p, _r, n, _c in _FAST_RULES)


@functools.lru_cache(maxsize=262_144)
def variant_key(norm: str) -> str:
    """Apply ``VARIANT_RULES`` to an ASCII-normalised token."""
    key = norm
    for pattern, repl, needs, compiled in _FAST_RULES:
        if needs is None:  # the doubled-letters rule: runs of one letter become one
            key = "".join(c for c, _run in itertools.groupby(key))
        elif needs:
            if any(n in key for n in needs):
                key = compiled.sub(repl, key)
        elif pattern in key:  # a plain string: replaced as written
            key = key.replace(pattern, repl)
    return key


def variant_key_reference(norm: str) -> str:
    """``variant_key`` by every rule's regex, as written (for tests)."""
    key = norm
    for _pattern, repl, _needs, compiled in _FAST_RULES:
        key = compiled.sub(repl, key)
    return key
