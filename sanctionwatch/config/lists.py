"""``[[lists]]``: official sanctions lists the bot downloads and re-imports on its own.

Each table names a list (the imported list's name), its format (one of the importer formats;
checked by the refresh module, which knows them, when the settings are used), where to fetch
it (an http(s) URL or a local path), OFAC's alias file (``aliases_url``), how often to look
for a new version and when to call the stored version stale. Lists are bigger than feeds, so
each has its own size cap and download timeout instead of ``[fetch]``'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sanctionwatch.config.ranges import check_ranges
from sanctionwatch.config.tables import check_table, given, location
from sanctionwatch.errors import ConfigError

MIB = 1024 * 1024
# OFAC's SDN XML is about 100 MiB, the UN list 2 MiB; 512 MiB leaves room for growth and
# OpenSanctions' sanctions-only exports while bounding what one download may hold in memory.
DEFAULT_LIST_MAX_BYTES = 512 * MIB
# A 100 MiB download at a slow 1 MiB/s takes under two minutes; five gives headroom.
DEFAULT_LIST_TIMEOUT_S = 300.0

LIST_KEYS: dict[str, type | tuple[type, ...]] = {
    "name": str,
    "format": str,
    "url": str,
    "aliases_url": str,
    "refresh_hours": int,
    "max_age_days": int,
    "max_bytes": int,
    "timeout_s": (int, float),
}


@dataclass(frozen=True)
class ListConfig:
    name: str
    format: str
    url: str  # http(s) URL or an absolute local path
    aliases_url: str | None = None  # OFAC alt.csv / cons_alt.csv
    refresh_hours: int = 24  # OFAC and the UN publish at most daily
    max_age_days: int = 7  # a week without a confirmed-current copy is reported
    max_bytes: int = DEFAULT_LIST_MAX_BYTES
    timeout_s: float = DEFAULT_LIST_TIMEOUT_S


def parse_lists(raw: Any, base: Path, src: str) -> tuple[ListConfig, ...]:
    """The ``[[lists]]`` tables, types and ranges checked, paths resolved against ``base``."""
    if raw is None:
        return ()
    out: list[ListConfig] = []
    seen: set[str] = set()
    for n, table in enumerate(raw, start=1):
        where = f"lists[{n}]"
        if not isinstance(table, dict):
            raise ConfigError(f"{src}: '{where}' must be a table ([[lists]])")
        check_table(table, LIST_KEYS, f"{where}.", src)
        check_ranges(table, "lists", f"{where}.", src)
        for key in ("name", "format", "url"):
            if not str(table.get(key, "")).strip():
                raise ConfigError(f"{src}: '{where}' is missing key '{key}'")
        name = table["name"].strip()
        if name in seen:
            raise ConfigError(f"{src}: '{where}': duplicate list name {name!r}")
        seen.add(name)
        aliases = table.get("aliases_url")
        out.append(
            ListConfig(
                name=name,
                format=table["format"].strip(),
                url=location(table["url"], f"{where}.url", src, base),
                aliases_url=(
                    location(aliases, f"{where}.aliases_url", src, base) if aliases else None
                ),
                **given(table, LIST_KEYS, "name", "format", "url", "aliases_url"),
            )
        )
    return tuple(out)
