"""The compliance CSV: one row per alert, safe to open in Excel or LibreOffice.

* UTF-8 with a BOM (``utf-8-sig``) so Excel detects the encoding and shows Cyrillic, Hangul …
* the ``csv`` module does all quoting (never hand-quoted); ``newline=""`` as the module requires.
* CSV injection (OWASP): a text cell starting with ``= + - @``, tab or CR (or the full-width
  ``＝ ＋ － ＠`` that some spreadsheets also treat as formula starts) gets a leading ``'``.
  Only text from feeds, watchlists and users is touched; our own numbers and timestamps are not.
* Timestamps are UTC, ISO 8601 with a trailing ``Z`` (``2026-11-28T10:00:00Z``).
* The file is written to a temporary name beside the target and renamed into place, so a
  reader never sees half a report.
"""

from __future__ import annotations

import csv
import logging
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from sanctionwatch.models import Match

log = logging.getLogger(__name__)

EXPORT_COLUMNS = (
    "alert_id",
    "detected_at",
    "published_at",
    "feed",
    "title",
    "link",
    "rule",
    "severity",
    "channel",
    "entities",
    "delivered",
    "disposition",
    "disposition_by",
    "disposition_at",
    # stories (appended; every earlier column keeps its place): group rows by story_id
    "story_id",
    "story_first",  # yes on the item whose message started the story in this channel
    "story_sources",  # the outlets (feeds) that carried the story, first first
    "disposition_reason",  # the reason typed into the review modal (appended)
)
# Columns holding text from outside (feeds, watchlists, Slack users): these get ``inert``.
TEXT_COLUMNS = frozenset(
    {
        "feed",
        "title",
        "link",
        "rule",
        "severity",
        "channel",
        "entities",
        "disposition",
        "disposition_by",
        "story_sources",
        "disposition_reason",
    }
)
# Timestamp columns: ISO strings are parsed and rewritten as UTC "…Z" like datetimes.
TIME_COLUMNS = frozenset({"detected_at", "published_at", "disposition_at"})
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
ENCODING = "utf-8-sig"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class ExportRow:
    """One alert as a CSV row; fields in EXPORT_COLUMNS order."""

    alert_id: int
    detected_at: datetime | str  # datetimes, or ISO 8601 strings as stored (normalised on write)
    published_at: datetime | str | None
    feed: str
    title: str
    link: str | None
    rule: str
    severity: str
    channel: str
    entities: str  # format_entities(matches)
    delivered: bool | str | datetime | None  # True/False ("yes"/"no"), or when delivered
    disposition: str | None = None
    disposition_by: str | None = None
    disposition_at: datetime | str | None = None
    story_id: int | None = None
    story_first: bool | None = None
    story_sources: str | None = None
    disposition_reason: str | None = None


def inert(value: str) -> str:
    """Prefix ``'`` when a spreadsheet would read the cell as a formula (OWASP CSV injection)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def format_time(moment: datetime | None) -> str:
    """UTC ISO 8601 with ``Z``; naive datetimes are taken to be UTC; None → empty cell."""
    if moment is None:
        return ""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime(TIME_FORMAT)


def format_score(score: float) -> str:
    return f"{round(score, 1):g}"


def format_entities(matches: Iterable[Match]) -> str:
    """``Kim Jong Un [Ким Чен Ын] 100; Russia [России] 96``.

    One part per (entity, matched words), first-seen order, keeping the best score of repeats.
    """
    best: dict[tuple[str, str], float] = {}
    names: dict[tuple[str, str], str] = {}
    for m in matches:
        key = (m.entity_id or m.entity, m.text)
        if key not in best or m.score > best[key]:
            best[key] = m.score
        names.setdefault(key, m.entity)
    return "; ".join(f"{names[k]} [{k[1]}] {format_score(s)}" for k, s in best.items())


def _cell(value: Any, *, text: bool, time: bool = False) -> str:
    """One value as cell text; ``text`` cells are made inert; ``time`` cells given as ISO
    strings are normalised to UTC (anything unparseable is kept, made inert, as text)."""
    if value is None:
        return ""
    if time and isinstance(value, str) and value:
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            text = True
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, int | float):
        return str(value)
    cleaned = str(value).replace("\x00", "")  # NUL is not valid in a CSV cell
    return inert(cleaned) if text else cleaned


def _write_atomic(path: Path, header: Sequence[str], rows: Iterable[list[str]]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    count = 0
    try:
        with os.fdopen(fd, "w", encoding=ENCODING, newline="") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            for row in rows:
                writer.writerow(row)
                count += 1
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return count


def _alert_cells(rows: Iterable[ExportRow]) -> Iterable[list[str]]:
    for row in rows:
        yield [
            _cell(
                getattr(row, column),
                text=column in TEXT_COLUMNS,
                time=column in TIME_COLUMNS,
            )
            for column in EXPORT_COLUMNS
        ]


def write_csv_stream(rows: Iterable[ExportRow], stream: TextIO) -> int:
    """The alert export written to an open text stream (``export --out -``: stdout), same
    cells and injection safety as the file; returns the number of rows."""
    writer = csv.writer(stream)
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    for cells in _alert_cells(rows):
        writer.writerow(cells)
        count += 1
    stream.flush()
    return count


def write_csv(rows: Iterable[ExportRow], path: Path) -> int:
    """Write the alert export to ``path`` (header always); returns the number of rows."""
    count = _write_atomic(path, EXPORT_COLUMNS, _alert_cells(rows))
    log.info("csv export written path=%s rows=%d", path, count)
    return count


def write_changes_csv(rows: Iterable[Mapping[str, Any]], path: Path, columns: Sequence[str]) -> int:
    """A companion CSV (e.g. watchlist changes) with the given columns; same encoding and
    injection safety. Every string value counts as text; missing keys give empty cells and
    keys not in ``columns`` are left out."""
    columns = tuple(columns)
    if not columns:
        raise ValueError("write_changes_csv needs at least one column")

    def cells() -> Iterable[list[str]]:
        for row in rows:
            yield [_cell(row.get(column), text=True) for column in columns]

    count = _write_atomic(path, columns, cells())
    log.info("csv changes written path=%s rows=%d", path, count)
    return count
