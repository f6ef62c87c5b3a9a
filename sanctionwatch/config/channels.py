"""``[channels."#name"]``: per-channel delivery settings, for now the digest.

A channel is named by the rules (``channel:``), the feeds (``[[feeds]] channel``) and
``[slack] default_channel``; what a channel *does* with its alerts is said once, here, keyed by
its name, so one digest setting covers every rule and feed that routes to it::

    [channels."#dprk-desk"]
    digest = "daily"                  # or "hourly"; absent: one message per story
    digest_immediate_from = "high"    # default; "none" puts every story in the digest

Names compare like Slack's (``#Desk`` and ``desk`` are one channel), so two tables naming one
channel are an error rather than a silent override.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sanctionwatch.config.ranges import check_choice
from sanctionwatch.config.tables import check_table
from sanctionwatch.errors import ConfigError

DEFAULT_IMMEDIATE_FROM = "high"  # the default: high and critical never wait
_CHANNEL_KEYS: dict[str, type | tuple[type, ...]] = {
    "digest": str,
    "digest_immediate_from": str,
}


def channel_key(name: str) -> str:
    """How Slack compares channel names: without the ``#``, case-insensitive."""
    return name.strip().lstrip("#").lower()


@dataclass(frozen=True)
class ChannelSettings:
    name: str  # as written in the config
    digest: str | None = None  # "hourly" | "daily"; None: every story posts on its own
    digest_immediate_from: str = DEFAULT_IMMEDIATE_FROM  # a severity, or "none"


def parse_channels(raw: Any, src: str) -> tuple[ChannelSettings, ...]:
    """The ``[channels]`` table: one sub-table per channel name."""
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        raise ConfigError(
            f"{src}: key 'channels' must be a table of channel tables",
            hint='e.g. [channels."#dprk-desk"] with digest = "daily"',
        )
    out: list[ChannelSettings] = []
    seen: dict[str, str] = {}
    for name, table in raw.items():
        where = f'channels."{name}"'
        if not str(name).strip().lstrip("#"):
            raise ConfigError(f"{src}: '{where}' needs a channel name", hint='[channels."#x"]')
        if not isinstance(table, Mapping):
            raise ConfigError(
                f"{src}: key '{where}' must be a table",
                hint=f'[channels."{name}"] then digest = "daily" on the next line',
            )
        check_table(table, _CHANNEL_KEYS, f"{where}.", src)
        key = channel_key(name)
        if key in seen:
            raise ConfigError(
                f"{src}: '{where}' names the same channel as 'channels.\"{seen[key]}\"'",
                hint="channel names compare without '#' and case; keep one table",
            )
        seen[key] = name
        digest = table.get("digest")
        if digest is not None:
            digest = check_choice(digest, "channels.digest", f"{where}.digest", src)
        immediate = table.get("digest_immediate_from", DEFAULT_IMMEDIATE_FROM)
        immediate = check_choice(
            immediate, "channels.digest_immediate_from", f"{where}.digest_immediate_from", src
        )
        out.append(ChannelSettings(name=name, digest=digest, digest_immediate_from=immediate))
    return tuple(out)


def channel_settings(channels: tuple[ChannelSettings, ...], name: str) -> ChannelSettings | None:
    key = channel_key(name)
    return next((c for c in channels if channel_key(c.name) == key), None)
