"""Legal forms and org types in organisation names: optional in matching, never distinctive.

Official lists write a company's name with its legal form ("WUHAN GLOBAL SENSOR TECHNOLOGY
CO., LTD.", "PJSC SBERBANK", "OBSHCHESTVO S OGRANICHENNOI OTVETSTVENNOSTYU SBERBANK
KAPITAL"); the press mostly leaves it out ("Wuhan Global Sensor Technology", "Sberbank").
So every organisation alias of an official list that starts or ends with a legal form is
also indexed by its *core*: the alias without the legal forms at its edges. Which phrases
are legal forms comes from OpenSanctions' ``rigour`` (its org-types database: ISO 20275
entity legal forms, the OCCRP list, Wikipedia's types of business entity, in many languages
and scripts: ООО, АО, GmbH, JSC, Co., Ltd. ...), plus ``TRAILING_FORMS`` that rigour does
not treat as legal forms on their own.

Only the edges are cut: a legal form sits before or after the name, and an org-type phrase
inside a name is part of it. rigour's table also holds short abbreviations that are names in
other lists ("STG" is Stichting to rigour, Stroytransgaz in "STG HOLDINGS LIMITED"); a core
left with only ``GENERIC_ORG_WORDS`` ("HOLDINGS", "INDUSTRIAL TECHNOLOGIES") is not
distinctive and is not indexed, so such an alias is found only as written in full. An alias
that is nothing but a legal form ("LTD", "JSC") is not indexed at all. Curated entries get
no cores (``alias_forms``): their editors write the short forms as aliases.

rigour's import costs ~0.2 s (its Rust core and tables), so it is imported on the first
official organisation alias of an index build, never when ``sanctionwatch.matching`` is imported.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sanctionwatch.matching.normalize import Analysed, analyse_text
from sanctionwatch.models import Entry

log = logging.getLogger(__name__)

__all__ = ["GENERIC_ORG_WORDS", "LEGAL_FORM_TYPES", "TRAILING_FORMS", "Core", "core_of"]

# Entry types whose aliases carry legal forms. People, vessels and weapons do not: "AO",
# "SA" or "AG" are name parts there (a Chinese surname, a vessel's prefix).
LEGAL_FORM_TYPES = frozenset({"organisation"})
# Abbreviations rigour keeps only inside longer forms ("Co., Ltd.") but that end many
# company names on their own ("KOREA MINING DEVELOPMENT TRADING CO"). Normalised forms.
TRAILING_FORMS = frozenset({"co", "corp", "company", "corporation", "inc", "incorporated"})
# A core needs a word this long that is not generic: "AO NPO IT" → "IT", "S.A.S. E.U." →
# "E U" (a legal form rigour does not know dotted) are fragments, not names. Three letters
# keep acronyms that are names ("SPG JSC").
MIN_DISTINCTIVE_LEN = 3
# Words that describe what kind of business an organisation is, not which one: a core made
# only of these (and of the connecting words) names no particular organisation. Normalised
# forms (ASCII, lower case), English and the usual transliterations on official lists.
GENERIC_ORG_WORDS = frozenset(
    """
    the of and for in de la del des du y et und
    company companies corporation co corp group groups holding holdings limited ltd inc
    international national general global state federal joint stock public private
    open closed commercial trading trade traders import export industrial industries
    industry technology technologies technical engineering services service systems
    system solutions development investment investments enterprise enterprises
    management bank banking finance financial capital partners consulting logistics
    manufacturing production products factory plant works center centre institute
    kompaniya gruppa bank obshchestvo zavod promyshlennye tekhnologii
    """.split()
)


@dataclass(frozen=True)
class Core:
    """An alias split into its legal forms and its core (both as tokens of the alias)."""

    tokens: tuple[Analysed, ...]  # the alias without the legal forms at its edges
    forms: str  # the legal forms removed, as written in the alias ("CO., LTD.")
    distinctive: bool  # the core names an organisation (not only generic words)


@functools.lru_cache(maxsize=1)
def _extractor() -> Callable[[str], list[tuple[str, str]]]:
    """rigour's org-type finder, imported on first use (its import is the cost)."""
    from rigour.names import extract_org_types

    return extract_org_types


@functools.lru_cache(maxsize=65_536)
def _phrase_norms(phrase: str) -> tuple[str, ...]:
    return tuple(a.norm for a in analyse_text(phrase).infos if a.norm)


def _form_phrases(alias: str) -> list[tuple[str, ...]]:
    """The legal-form phrases rigour finds in the alias, as token norms, longest first."""
    found = _extractor()(alias.casefold())  # its table is case-folded, input must be too
    phrases = {_phrase_norms(text) for text, _compare in found}
    phrases.discard(())
    return sorted(phrases, key=lambda p: (-len(p), p))


_TRAILING_PHRASES = tuple((form,) for form in sorted(TRAILING_FORMS))


def core_of(alias: str, toks: tuple[Analysed, ...], entry_type: str) -> Core | None:
    """The alias's core when a legal form starts or ends it; None when it has none.

    ``toks`` are the alias's analysed tokens (``analyse_text(alias).infos``); the core is a
    slice of them, so its tokens keep the alias's own analysis (acronyms stay exact-only).
    """
    if entry_type not in LEGAL_FORM_TYPES or not toks:
        return None
    leading = _form_phrases(alias)
    if not leading and toks[-1].norm not in TRAILING_FORMS:
        return None  # most names: no legal form anywhere
    trailing = (*leading, *_TRAILING_PHRASES)
    norms = [t.norm for t in toks]
    lo, hi = 0, len(toks)
    changed = True
    while changed and lo < hi:
        changed = False
        for p in leading:  # "PJSC SBERBANK", "ООО Ромашка"
            if len(p) <= hi - lo and tuple(norms[lo : lo + len(p)]) == p:
                lo += len(p)
                changed = True
                break
        for p in trailing:  # "... CO., LTD.", "SBERBANK KAPITAL OOO", "... TRADING CO"
            if len(p) <= hi - lo and tuple(norms[hi - len(p) : hi]) == p:
                hi -= len(p)
                changed = True
                break
    if lo == 0 and hi == len(toks):
        return None
    core = toks[lo:hi]
    removed = [t.word or t.norm for t in (*toks[:lo], *toks[hi:])]
    distinctive = any(
        len(t.norm) >= MIN_DISTINCTIVE_LEN and t.norm not in GENERIC_ORG_WORDS for t in core
    )
    return Core(core, " ".join(removed), distinctive)


Variants = Callable[[tuple[Analysed, ...]], list[tuple[Analysed, ...]]]


def alias_forms(
    alias: str, toks: tuple[Analysed, ...], entry: Entry, glued: Variants
) -> list[tuple[tuple[Analysed, ...], str]]:
    """Every token sequence an alias is indexed under, each with why it is not the alias
    as written ("" for the alias itself): the alias, its core when it has a distinctive
    one, and their ``glued`` spellings ("Jong Un" → "Jongun"). Empty when the alias is
    nothing but legal forms ("LTD", "JSC").

    Only official entries get cores: a curated entry's editor writes the short forms the
    press uses as aliases, and leaves out the ones that are traps ("Shell plc" has no alias
    "Shell"; "Green Pine Associated Corporation" is not "Green Pine Associated Realty").
    An official one-word core ("Sberbank") is guarded like any official one-word alias.
    """
    core = None if entry.curated else core_of(alias, toks, entry.type)
    forms: list[tuple[tuple[Analysed, ...], str]] = [(toks, "")]
    if core is not None and not core.tokens:
        log.debug("alias not indexed: only a legal form alias=%r", alias)
        return []
    if core is not None and core.distinctive:
        forms.append((core.tokens, f"legal form {core.forms!r} optional"))
    out = []
    for form, why in forms:
        out.append((form, why))
        out.extend((g, f"{why}, glued" if why else "glued") for g in glued(form))
    return out
