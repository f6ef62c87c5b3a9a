"""``watchlist import --format FORMAT -``: an official list read from stdin.

The importers read a path (they hash exactly the bytes parsed, and the XML readers stream), so
stdin is first copied to a private temporary file, removed afterwards whatever happens. The
import records the file as ``-`` with the SHA-256 of what came in, never the temporary name.

OFAC's legacy CSVs are refused: their aliases come from a second file (``alt.csv``) beside the
main one, and stdin can carry only one file. Importing ``sdn.csv`` alone would silently drop
every alias from alt.csv (names the matcher then misses), so the user is told to give a path.
"""

from __future__ import annotations

import logging
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from sanctionwatch.errors import CommandError, ImportFormatError
from sanctionwatch.watchlists.importers import ALIASES_FILE_NAME, MAIN_FILE_NAMES

log = logging.getLogger(__name__)

# Copy stdin in pieces of this size: a year's OFAC XML is ~100 MB and need not be held at once.
CHUNK_BYTES = 1 << 20


def check_stdin_format(fmt: str) -> None:
    """Refuse formats whose aliases live in a second file (see the module docstring)."""
    if fmt in MAIN_FILE_NAMES:
        raise CommandError(
            f"--format {fmt} cannot be read from stdin (-): its aliases come from "
            f"{ALIASES_FILE_NAME} beside {MAIN_FILE_NAMES[fmt]}, and stdin carries one file",
            hint=f"save {MAIN_FILE_NAMES[fmt]} and {ALIASES_FILE_NAME} in one folder and give "
            f"the path of {MAIN_FILE_NAMES[fmt]}",
        )


@contextmanager
def spooled_stdin(fmt: str, stream: BinaryIO | None = None) -> Iterator[Path]:
    """A temporary file holding all of stdin (``sys.stdin.buffer`` unless ``stream``)."""
    check_stdin_format(fmt)
    source = stream if stream is not None else sys.stdin.buffer
    with tempfile.TemporaryDirectory(prefix="sanctionwatch-stdin-") as folder:
        path = Path(folder) / "stdin"
        with path.open("wb") as handle:
            shutil.copyfileobj(source, handle, CHUNK_BYTES)
        size = path.stat().st_size
        if size == 0:
            raise ImportFormatError(
                f"watchlist import --format {fmt} -: stdin is empty",
                hint="pipe the list file in (… | bot.py watchlist import --format FMT -) "
                "or give its path",
            )
        log.info("spooled stdin for import fmt=%s bytes=%d", fmt, size)
        yield path
