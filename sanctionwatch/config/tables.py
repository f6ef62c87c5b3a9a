"""Checking one TOML table against its spec: unknown keys and wrong types are errors that name
the file and the key; the keys present become dataclass arguments (absent ones keep the
dataclass defaults, so every default is written once)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sanctionwatch.config.ranges import check_url
from sanctionwatch.errors import ConfigError


def type_name(t: type | tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "true/false"}
    names.update({list: "a list", dict: "a table"})
    if isinstance(t, tuple):
        return "a number"
    return names.get(t, t.__name__)


def check_table(
    table: Mapping[str, Any], spec: Mapping[str, type | tuple[type, ...]], where: str, src: str
) -> None:
    for key, value in table.items():
        if key not in spec:
            raise ConfigError(
                f"{src}: unknown key '{where}{key}'",
                hint=f"allowed keys here: {', '.join(sorted(spec))}",
            )
        want = spec[key]
        # bool is a subclass of int in Python; a TOML boolean is never a valid integer here.
        bad_bool = isinstance(value, bool) and want is not bool
        if bad_bool or not isinstance(value, want):
            raise ConfigError(
                f"{src}: key '{where}{key}' must be {type_name(want)}, got {value!r}",
                hint="fix the value in the config file",
            )


def given(
    table: Mapping[str, Any], spec: Mapping[str, type | tuple[type, ...]], *handled: str
) -> dict[str, Any]:
    """The keys present in ``table`` (except those the caller ``handled``) as dataclass
    arguments, numbers of number-typed keys as float. Absent keys are not passed, so their
    defaults are the dataclass defaults: defaults are written in one place only."""
    return {
        key: float(value) if spec[key] == (int, float) else value
        for key, value in table.items()
        if key not in handled
    }


def location(value: str, where: str, src: str, base: Path) -> str:
    """A feed or list location: an http(s) URL (checked), or a local path (``file://`` allowed)
    resolved against the config file's folder ``base``."""
    value = value.strip()
    if value.startswith(("http://", "https://")):
        check_url(value, where, src)
        return value
    if "://" in value and not value.startswith("file://"):
        raise ConfigError(f"{src}: '{where}' must be http(s) or a local file path, got {value!r}")
    path = Path(value.removeprefix("file://")).expanduser()
    return str(path if path.is_absolute() else base / path)
