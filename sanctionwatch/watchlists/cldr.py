"""Place names from CLDR (through babel): a watchlist entry's `cldr: [KP]` becomes aliases.

Every language's press names states in its own way (Kuzey Kore, Severní Korea, 北朝鮮,
קוריאה הצפונית ...). Typing those by hand leaves most languages out; the Unicode CLDR
territory names, maintained per locale and shipped with babel, already hold them. A watchlist
entry declares the territory codes it stands for and the loader adds the names of those
territories in every press language below.

Which names are kept, and why (each filter answers a false alert it would otherwise cause):

* Only locales of ``PRESS_LANGUAGES``: languages with a national news press. CLDR also has
  Cherokee, Deseret, Vai, Esperanto, Latin ...; their names of Syria or Mali ("Siri", "Mari",
  "Sin", "Talu") are ordinary words or given names in the languages feeds are written in.
* No inverted or annotated forms ("Korea, North", "Sham, Siriya", "... (Burma)"): the press
  never writes them, and the comma part would match alone.
* A minimum length per script (``MIN_CHARS``): two CJK ideographs are a real name (朝鲜, 伊朗),
  two kana or two Hangul syllables are not safe (マリ is also the given name Mari, 말리 the
  verb stem "dry"), three Latin/Cyrillic/Arabic letters are abbreviations or words.
* The entry's own ``cldr_exclude`` list: names that are common words or other places in a
  big press language (Chinese 马里 inside 马里兰 Maryland, 尼日 inside 尼日利亚 Nigeria).
* Collisions (``merge``): a CLDR name that is also a name of another entry, curated or from
  CLDR, is dropped from the CLDR sets: it cannot tell the two apart, and the curated entry
  knows better.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path

import babel
from anyascii import anyascii
from babel import Locale
from babel.core import get_cldr_version
from babel.localedata import locale_identifiers

log = logging.getLogger(__name__)

__all__ = [
    "CLDR_SOURCE",
    "PRESS_LANGUAGES",
    "fold",
    "is_territory",
    "territory_names",
]

# Languages with a national news press (ISO 639 codes as CLDR spells them). Script variants
# (sr_Latn, zh_Hant, uz_Cyrl, yue_Hans ...) of these are included; regional variants
# (fr_CA, en_GB) name countries the same way and are skipped to keep start-up fast.
PRESS_LANGUAGES = frozenset(
    "af am ar az be bg bn bs ca cs cy da de el en es et eu fa fi fil fr ga gl gu ha he hi hr "
    "hu hy id is it ja ka kk km kn ko ku ky lo lt lv mk ml mn mr ms my ne nl nb nn no or pa "
    "pl ps pt ro ru si sk sl so sq sr sv sw ta te tg th tk tr ug uk ur uz vi yue zh zu".split()
)
_SCRIPTS = frozenset({"Arab", "Cyrl", "Latn", "Hans", "Hant"})
# Minimum length of a kept name, in characters (spaces and punctuation not counted).
MIN_CHARS = {"ideograph": 2, "syllabic": 3, "other": 4}
_IDEOGRAPH_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_SYLLABIC_RE = re.compile(r"[\u3040-\u30ff\uac00-\ud7a3\u1100-\u11ff]")
_REJECT_RE = re.compile(r"[,()\[\]]")
_CJK_RE = re.compile(
    r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7a3\u1100-\u11ff]"
)
CLDR_SOURCE = f"CLDR {get_cldr_version()} via babel {babel.__version__}"
# Reading ~100 locales from babel costs 0.5-1 s at every start-up, which slows `check`, every
# CLI command and crash-restart recovery. The names of the territories the default watchlists
# use are kept in this snapshot, written from babel by `python -m sanctionwatch.watchlists.cldr`
# and used only while babel's version is the one it was written with (a test compares it with
# babel's live answer). Other codes, or another babel, are read from babel itself.
SNAPSHOT = Path(__file__).with_name("cldr_snapshot.json")


@functools.lru_cache(maxsize=65536)
def fold(name: str) -> str:
    """Comparison key of a name: NFKC, case-folded, ASCII, punctuation as single spaces.

    Names in CJK scripts keep their characters: their ASCII romanisation ("MaLi" for 马利)
    would meet unrelated Latin names ("Mali")."""
    name = unicodedata.normalize("NFKC", name)
    if _CJK_RE.search(name):
        return "".join(name.split()).casefold()
    text = anyascii(name).casefold()
    return " ".join(re.findall(r"[a-z0-9]+", text)) or name.casefold()


@functools.lru_cache(maxsize=1)
def _press_locales() -> tuple[str, ...]:
    out = []
    for ident in locale_identifiers():
        parts = ident.split("_")
        if parts[0] not in PRESS_LANGUAGES:
            continue
        if len(parts) == 1 or (len(parts) == 2 and parts[1] in _SCRIPTS):
            out.append(ident)
    return tuple(sorted(out))


@functools.lru_cache(maxsize=1)
def _territories_by_locale() -> dict[str, dict[str, str]]:
    """Locale id → {territory code: name}; read once per process (about 0.2 s)."""
    return {ident: dict(Locale.parse(ident).territories) for ident in _press_locales()}


def is_territory(code: str) -> bool:
    """Whether `code` is a CLDR territory code (as named in English)."""
    return code in _snapshot() or code in Locale("en").territories


def _long_enough(name: str) -> bool:
    letters = [c for c in name if c.isalnum()]
    if any(_IDEOGRAPH_RE.match(c) for c in letters):
        return len(letters) >= MIN_CHARS["ideograph"]
    if any(_SYLLABIC_RE.match(c) for c in letters):
        return len(letters) >= MIN_CHARS["syllabic"]
    return len(letters) >= MIN_CHARS["other"]


@functools.lru_cache(maxsize=1)
def _snapshot() -> dict[str, list[str]]:
    try:
        data = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if data.get("source") != CLDR_SOURCE or data.get("languages") != sorted(PRESS_LANGUAGES):
        log.info("cldr snapshot stale snapshot=%s babel=%s", data.get("source"), CLDR_SOURCE)
        return {}
    names = data.get("names")
    return names if isinstance(names, dict) else {}


@functools.lru_cache(maxsize=256)
def territory_names(code: str) -> tuple[str, ...]:
    """Every press locale's name of territory `code`, filtered (see the module docstring),
    de-duplicated by exact text, in a stable order (sorted by locale id)."""
    cached = _snapshot().get(code)
    if cached is not None:
        return tuple(cached)
    return live_territory_names(code)


def live_territory_names(code: str) -> tuple[str, ...]:
    """`territory_names` read from babel, bypassing the snapshot."""
    seen: dict[str, None] = {}
    for names in _territories_by_locale().values():
        name = names.get(code)
        if not name:
            continue
        name = unicodedata.normalize("NFC", name.strip())
        if _REJECT_RE.search(name) or not _long_enough(name):
            continue
        seen.setdefault(name, None)
    return tuple(seen)


def expand(codes: Sequence[str], exclude: Iterable[str]) -> tuple[str, ...]:
    """CLDR names of `codes` minus the entry's `exclude` list (exact text, case-folded)."""
    dropped = {unicodedata.normalize("NFC", x).casefold() for x in exclude}
    out: dict[str, None] = {}
    for code in codes:
        for name in territory_names(code):
            if name.casefold() not in dropped:
                out.setdefault(name, None)
    return tuple(out)


def write_snapshot(codes: Iterable[str], path: Path = SNAPSHOT) -> None:
    """Write the names of `codes` from babel into the snapshot file."""
    doc = {
        "source": CLDR_SOURCE,
        "languages": sorted(PRESS_LANGUAGES),
        "names": {code: list(live_territory_names(code)) for code in sorted(set(codes))},
    }
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")


def _default_codes() -> list[str]:
    """Territory codes the repository's watchlists declare under `cldr:`."""
    import yaml

    folder = Path(__file__).resolve().parents[2] / "watchlists"
    codes: list[str] = []
    for path in sorted(folder.glob("*.yaml")):
        for raw in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("entries", []):
            value = raw.get("cldr") if isinstance(raw, dict) else None
            codes.extend([value] if isinstance(value, str) else value or [])
    return codes


if __name__ == "__main__":  # python -m sanctionwatch.watchlists.cldr [CODE ...]
    write_snapshot(sys.argv[1:] or _default_codes())
    print(f"wrote {SNAPSHOT}")
