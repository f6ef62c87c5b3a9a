"""Feed dates written with localised day and month names ("Seg, 24 Set 2018 19:42:40 -0300").

RSS asks for English RFC 822 dates, but many non-English publishers localise the names.
feedparser then reports no date, and an undated item counts as new on a feed's first poll,
so a foreign-language feed's whole backlog would alert at once. This handler, registered
with feedparser, maps the names to English and lets the standard RFC 822 parser finish.
"""

from __future__ import annotations

import email.utils
import re
import time
import unicodedata

import feedparser

# Month names and common abbreviations (after accent stripping and lower-casing) in the
# languages of the press we watch; ambiguous three-letter forms are left out.
_MONTHS: dict[str, str] = {}
for _english, _names in {
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
}.items():
    for _name in _names.split():
        _MONTHS.setdefault(
            unicodedata.normalize("NFKD", _name).encode("ascii", "ignore").decode().lower()
            or _name,
            _english,
        )
        _MONTHS.setdefault(_name.lower(), _english)

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
        english = _MONTHS.get(_fold(word)) or _MONTHS.get(word.rstrip(".").lower())
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


feedparser.registerDateHandler(localised_rfc822)
