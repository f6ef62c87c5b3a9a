"""What every command group shares: the global options, reading the settings (and setting up
logging) from the parsed arguments, parsing dates, and ``-`` as stdout/stdin."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from sanctionwatch.config.settings import Settings, load_settings
from sanctionwatch.logsetup import setup_logging

# The options every command takes, before or after its name, and their values when absent.
GLOBAL_DEFAULTS: dict[str, Any] = {
    "config": None,
    "verbose": False,
    "quiet": False,
    "log_json": False,
}
STDIO = "-"  # a PATH argument meaning stdout (writing) or stdin (reading)


def add_global_options(p: argparse.ArgumentParser) -> None:
    """``--config``, ``-v``, ``-q``, ``--log-json`` on the main parser and on every (nested)
    sub-command. Their default is SUPPRESS, so a sub-parser that did not see an option never
    overwrites the value given before the sub-command name; ``fill_global_defaults`` sets the
    absent ones afterwards."""
    p.add_argument(
        "--config",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="TOML config file (default: "
        "$SANCTIONWATCH_CONFIG, else ./sanctionwatch.toml, else built-in demo)",
    )
    p.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="debug logging"
    )
    p.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=argparse.SUPPRESS,
        help="warnings and errors only",
    )
    p.add_argument(
        "--log-json",
        action="store_true",
        default=argparse.SUPPRESS,
        help="log JSON lines to stderr",
    )


def fill_global_defaults(args: argparse.Namespace) -> argparse.Namespace:
    for key, value in GLOBAL_DEFAULTS.items():
        if not hasattr(args, key):
            setattr(args, key, value)
    return args


def print_json(value: Any, out: TextIO) -> None:
    """One JSON document (the ``--json`` of every read command)."""
    print(json.dumps(value, ensure_ascii=False, indent=2, default=str), file=out)


@contextmanager
def output_file(path: str, out: TextIO) -> Iterator[TextIO]:
    """``path`` opened for writing text, or ``out`` (stdout) when it is ``-``."""
    if path == STDIO:
        yield out
        return
    with Path(path).open("w", encoding="utf-8", newline="") as handle:
        yield handle


def info_stream(path: str | None, out: TextIO) -> TextIO:
    """Where a command's "wrote …" line goes: stderr when the data itself went to stdout."""
    return sys.stderr if path == STDIO else out


def parse_date(value: str) -> datetime:
    """``YYYY-MM-DD`` as midnight UTC (an argparse ``type=``)."""
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Load the settings (``--config``) and configure logging (``-v``, ``-q``, ``--log-json``)."""
    settings = load_settings(getattr(args, "config", None))
    level = settings.log_level
    if getattr(args, "verbose", False):
        level = "DEBUG"
    elif getattr(args, "quiet", False):
        level = "WARNING"
    setup_logging(level, settings.log_json or getattr(args, "log_json", False))
    return settings


def config_name(settings: Settings) -> str:
    return str(settings.config_path) if settings.config_path else "built-in defaults"
