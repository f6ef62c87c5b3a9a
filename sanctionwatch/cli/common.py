"""What every command group shares: reading the settings (and setting up logging) from the
parsed arguments, and parsing dates given on the command line."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from sanctionwatch.config.settings import Settings, load_settings
from sanctionwatch.logsetup import setup_logging


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
