"""Feed dates written with localised day and month names ("Seg, 24 Set 2018 19:42:40 -0300").

RSS asks for English RFC 822 dates, but many non-English publishers localise the names.
feedparser then reports no date, and an undated item counts as new on a feed's first poll,
so a foreign-language feed's whole backlog would alert at once. This handler, registered
with feedparser, maps the names to English and lets the standard RFC 822 parser finish.

Nothing happens at import (issue 9): ``install()`` registers the handler, once per process
however often it is called (feedparser keeps a plain list and would run a twice-registered
handler twice); ``ingest.parse.parse`` calls it before every parse, so the handler is in place
whenever a feed is parsed, whatever else was imported.
"""

from __future__ import annotations

import email.utils
import functools
import re
import threading
import time
import unicodedata

import feedparser

# Month names and common abbreviations (after accent stripping and lower-casing) in the
# languages of the press we watch; ambiguous three-letter forms are left out.
_MONTH_NAMES = {
    "Jan": "janeiro jan enero ene janvier janv januar jän gennaio gen styczen styczeń sty января янв",
    "Feb": "fevereiro fev febrero feb fevrier févr fev februar febbraio luty lut февраля фев",
    "Mar": "marco março mar marzo mars marz märz marzec мар марта",
    "Apr": "abril abr avril avr aprile kwiecien kwiecień kwi апреля апр",
    "May": "maio mayo mai maggio mag maj мая май",
    "Jun": "jun junho junio juin juni giugno giu czerwiec cze июня июн",
    "Jul": "jul julho julio juillet juil juli luglio lug lipiec lip июля июл",
    "Aug": "agosto ago aout août august aug sierpien sierpień sie августа авг",
    "Sep": "setembro set septiembre sept septembre september settembre wrzesien wrzesień wrz сентября сен",
    "Oct": "outubro out octubre oct octobre oktober ott ottobre pazdziernik październik paz октября окт",
    "Nov": "novembro nov noviembre novembre november listopad lis ноября ноя",
    "Dec": "dezembro dez diciembre dic decembre décembre dezember dicembre grudzien grudzień gru декабря дек",
}


@functools.cache
def _months() -> dict[str, str]:
    """Localised month name (accented and folded) → English abbreviation; built on first use."""
    months: dict[str, str] = {}
    for english, names in _MONTH_NAMES.items():
        for name in names.split():
            months.setdefault(
                unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
                or name,
                english,
            )
            months.setdefault(name.lower(), english)
    return months


_WORD = re.compile(r"[^\W\d_]+\.?", re.UNICODE)
_LEADING_DAY = re.compile(r"^\s*[^\W\d_]+\.?,\s*", re.UNICODE)


def _fold(word: str) -> str:
    plain = unicodedata.normalize("NFKD", word.rstrip(".")).encode("ascii", "ignore").decode()
    return (plain or word.rstrip(".")).lower()


def localised_rfc822(value: str) -> time.struct_time | None:
    """A UTC struct_time for an RFC 822 date with localised names, else None."""
    if not value or len(value) > 100:
        return None
    text = _LEADING_DAY.sub("", value)  # the weekday carries no information
    replaced = False

    def month(m: re.Match[str]) -> str:
        nonlocal replaced
        word = m.group()
        months = _months()
        english = months.get(_fold(word)) or months.get(word.rstrip(".").lower())
        if english and not replaced:
            replaced = True
            return english
        return word

    text = _WORD.sub(month, text)
    if not replaced:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        return None
    return time.gmtime(parsed.timestamp())


_install_lock = threading.Lock()
_installed: list[bool] = []  # process state, not a setting: [True] once registered


def install() -> None:
    """Register ``localised_rfc822`` with feedparser; idempotent and safe from any thread
    (feed fetch workers parse in parallel)."""
    if _installed:
        return
    with _install_lock:
        if not _installed:
            feedparser.registerDateHandler(localised_rfc822)
            _installed.append(True)
