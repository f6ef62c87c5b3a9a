"""Parsers for official sanctions lists, turning each into watchlist Entry objects.

``parse_list(fmt, path, list_name)`` either returns the complete list or raises
ImportFormatError naming the file, the format and what is wrong; it never returns a partial
list for a broken file, and a file that yields no entries is an error. ``read_list`` returns
the same entries with the list's own age marker and the SHA-256 of the files read
(version.py says what each format offers).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sanctionwatch.errors import ImportFormatError
from sanctionwatch.models import Entry
from sanctionwatch.watchlists.importers.canada import read_canada_xml
from sanctionwatch.watchlists.importers.common import format_error
from sanctionwatch.watchlists.importers.ftm import read_ftm
from sanctionwatch.watchlists.importers.ofac import read_ofac_consolidated_csv, read_ofac_sdn
from sanctionwatch.watchlists.importers.ofac_xml import read_ofac_xml
from sanctionwatch.watchlists.importers.opensanctions import read_opensanctions_csv
from sanctionwatch.watchlists.importers.un import read_un_xml
from sanctionwatch.watchlists.importers.version import ListVersion, ParsedList, SourceFile

log = logging.getLogger(__name__)

FORMATS = (
    "ofac-sdn",
    "un-xml",
    "opensanctions-csv",
    "canada-sema-xml",
    "ofac-consolidated-xml",
    "ofac-consolidated-csv",
    "opensanctions-ftm",
)
DEFAULT_LIST_NAMES = {
    "ofac-sdn": "ofac-sdn",
    "un-xml": "un",
    "opensanctions-csv": "opensanctions",
    "canada-sema-xml": "canada-sema",
    "ofac-consolidated-xml": "ofac-consolidated",
    "ofac-consolidated-csv": "ofac-consolidated",
    "opensanctions-ftm": "opensanctions",
}
# Formats whose main file takes its aliases from a second file beside it (OFAC's alt.csv):
# a refreshed list with ``aliases_url`` saves the main download under this name and the
# aliases download as ``alt.csv`` next to it.
MAIN_FILE_NAMES = {"ofac-sdn": "sdn.csv", "ofac-consolidated-csv": "cons_prim.csv"}
ALIASES_FILE_NAME = "alt.csv"

_PARSERS: dict[str, Callable[[Path, str], ParsedList]] = {
    "ofac-sdn": read_ofac_sdn,
    "un-xml": read_un_xml,
    "opensanctions-csv": read_opensanctions_csv,
    "canada-sema-xml": read_canada_xml,
    "ofac-consolidated-xml": read_ofac_xml,
    "ofac-consolidated-csv": read_ofac_consolidated_csv,
    "opensanctions-ftm": read_ftm,
}


def check_format(fmt: str) -> None:
    if fmt not in _PARSERS:
        raise ImportFormatError(
            f"unknown list format {fmt!r}", hint=f"use one of: {', '.join(FORMATS)}"
        )


def parse_list(fmt: str, path: Path, list_name: str) -> list[Entry]:
    """Parse one official list file into entries of watchlist ``list_name``."""
    return read_list(fmt, path, list_name).entries


def read_list(fmt: str, path: Path, list_name: str) -> ParsedList:
    """Parse one official list file: its entries, own age marker and file hashes."""
    check_format(fmt)
    path = Path(path)
    parsed = _PARSERS[fmt](path, list_name)
    if not parsed.entries:
        raise format_error(
            path,
            fmt,
            "the file contains no list entries",
            hint="a sanctions list is never empty; check the download — the previous "
            "version stays in use",
        )
    return parsed


@dataclass(frozen=True)
class ImportReport:
    """What one import changed, compared with the previously stored version of the list."""

    list_name: str
    fmt: str
    source_file: str
    total: int
    added: list[Entry]
    removed: list[Entry]
    changed: list[tuple[Entry, Entry]]  # (old, new)
    imported_at: datetime
    list_version: ListVersion | None = None  # the file's own age marker
    files: tuple[SourceFile, ...] = ()  # what was read, with SHA-256
    stored_before: int = 0  # entries of the version this one replaced
    version: int = 0  # the stored version number after the import
    forced: bool = False
    warnings: tuple[str, ...] = ()  # e.g. a missing end-of-file marker

    def summary(self) -> str:
        """``ofac: 12,345 entries (+12 added, -3 removed, ~7 changed)``"""
        return (
            f"{self.list_name}: {self.total:,} entries (+{len(self.added):,} added, "
            f"-{len(self.removed):,} removed, ~{len(self.changed):,} changed)"
        )


__all__ = [
    "ALIASES_FILE_NAME",
    "DEFAULT_LIST_NAMES",
    "FORMATS",
    "MAIN_FILE_NAMES",
    "ImportReport",
    "ListVersion",
    "ParsedList",
    "SourceFile",
    "check_format",
    "parse_list",
    "read_list",
]
