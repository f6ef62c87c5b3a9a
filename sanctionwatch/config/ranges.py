"""The allowed range of every number in the config, written once.

`RANGES` is the single source of truth: `config.py` refuses a value outside its range while
loading (so `check` and `run` both exit 2 naming the file and the key), and the README's
Configuration table is `markdown_table()` (a test keeps the two equal; regenerate the table
with ``python -m sanctionwatch.config.ranges``). The few strings `run` sends with every
request (feed and Slack URLs, the User-Agent) are checked here too.

Why ranges at all: a value of the right type can still kill every run (``interval_minutes =
9223372036854775807`` overflows the next-poll date) or silently change what alerts (a negative
``backfill_days`` drops every first-poll alert). Each bound below says why it is where it is.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from sanctionwatch.errors import ConfigError

if TYPE_CHECKING:  # settings.py imports this module to check ranges: types only here
    from sanctionwatch.config.settings import Settings

MINUTES_PER_WEEK = 7 * 24 * 60
MINUTES_PER_30_DAYS = 30 * 24 * 60
HOURS_PER_30_DAYS = 30 * 24
SECONDS_PER_HOUR = 3600
KIB = 1024
GIB = 1024 * 1024 * 1024
# Retention beyond a century is "keep forever"; the bound also keeps `now - timedelta(days=…)`
# far from datetime.min.
CENTURY_DAYS = 36_500


@dataclass(frozen=True)
class Range:
    """Inclusive bounds (the lower one exclusive when ``low_exclusive``), plus what the number
    counts and why the bounds are there (shown in the error hint and the README)."""

    low: int | float
    high: int | float
    unit: str
    why: str
    low_exclusive: bool = False

    def contains(self, value: int | float) -> bool:
        if isinstance(value, float) and not math.isfinite(value):
            return False  # NaN compares false to everything; inf is never a usable setting
        above = value > self.low if self.low_exclusive else value >= self.low
        return above and value <= self.high

    def describe(self) -> str:
        if self.low_exclusive:
            return f"greater than {fmt(self.low)} and at most {fmt(self.high)}"
        return f"between {fmt(self.low)} and {fmt(self.high)}"

    def interval(self) -> str:
        """The range in interval notation for the README, e.g. ``(0, 3600]`` or ``[1, 10080]``."""
        return f"{'(' if self.low_exclusive else '['}{fmt(self.low)}, {fmt(self.high)}]"


_BACKFILL = Range(
    0,
    365,
    "days",
    "0: a new feed alerts only on undated items; beyond a year a first poll floods the"
    " channel with old stories",
)
_TIMEOUT = Range(
    0,
    SECONDS_PER_HOUR,
    "seconds",
    "0 would fail every fetch; beyond an hour one hanging server holds a worker too long",
    low_exclusive=True,
)
_RETENTION_WHY = (
    "0 would prune every item at the next pass, so each poll re-records what the feeds still"
    " carry; 36500 (a century) is keep-forever"
)

# Keys are "section.key" as in the TOML ("" section: top level; "feeds": each [[feeds]] table).
RANGES: dict[str, Range] = {
    "backfill_days": _BACKFILL,
    "retention_days": Range(1, CENTURY_DAYS, "days", "items without matches; " + _RETENTION_WHY),
    "match_retention_days": Range(
        1, CENTURY_DAYS, "days", "matched items that never alerted; " + _RETENTION_WHY
    ),
    "max_delist_fraction": Range(
        0, 1, "share of entries", "0: any removal needs --force; 1: never asks"
    ),
    "story_window_hours": Range(
        1,
        24 * 30,
        "hours",
        "items alerting this long after a story's last item may still join its thread; beyond"
        " a month unrelated news about the same actors would be folded into old threads",
    ),
    "feeds.interval_minutes": Range(
        1,
        MINUTES_PER_WEEK,
        "minutes",
        "the scheduler looks for due feeds once a minute; a feed read less than weekly is"
        " not being watched",
    ),
    "feeds.backfill_days": _BACKFILL,
    "slack.max_retries": Range(
        0,
        10,
        "retries per call",
        "each retry waits; an alert that still fails stays pending for the next run",
    ),
    "slack.retry_after_cap_s": Range(
        0,
        SECONDS_PER_HOUR,
        "seconds",
        "0: never wait for a rate limit; a longer Retry-After leaves the alert pending",
    ),
    "slack.timeout_s": Range(
        0,
        120,
        "seconds",
        "per Slack request; 0 would fail every call; a hang longer than two minutes holds"
        " the whole delivery round",
        low_exclusive=True,
    ),
    "fetch.connect_timeout_s": _TIMEOUT,
    "fetch.total_timeout_s": _TIMEOUT,
    "fetch.max_bytes": Range(
        KIB,
        GIB,
        "bytes",
        "no feed fits in less than 1 KiB; a body is held in memory, so more than 1 GiB risks"
        " MemoryError",
    ),
    "fetch.max_redirects": Range(0, 20, "redirects", "0: none followed; 20 is what browsers allow"),
    "fetch.max_items": Range(
        1, 100_000, "items per document", "0 would read nothing; more is a runaway feed"
    ),
    "poll.max_workers": Range(1, 256, "threads", "each holds a socket and a parsed document"),
    "poll.per_host": Range(1, 64, "requests", "concurrent requests to one host, kept polite"),
    "poll.jitter_s": Range(
        0, SECONDS_PER_HOUR, "seconds", "0: no spread; more than an hour delays alerts"
    ),
    "poll.backoff_max_minutes": Range(
        1,
        MINUTES_PER_30_DAYS,
        "minutes",
        "a failing feed is still tried at least every 30 days, so a revived feed is noticed",
    ),
    "poll.failure_report_after": Range(
        1, 1000, "failures in a row", "0 would report healthy feeds; more is as good as never"
    ),
    "lists.refresh_hours": Range(
        1,
        HOURS_PER_30_DAYS,
        "hours",
        "publishers update at most a few times a day (yente checks hourly); a list read less"
        " than monthly is not being kept current",
    ),
    "lists.max_age_days": Range(
        1,
        365,
        "days",
        "a list not confirmed current (fetched, or answered 304) for this long, or whose own"
        " publication date is older, is reported stale",
    ),
    "lists.max_bytes": Range(
        KIB,
        4 * GIB,
        "bytes",
        "official lists run from 1 to several hundred MiB (OpenSanctions' full export is"
        " larger); the download is held in memory while it is parsed",
    ),
    "lists.timeout_s": Range(
        0,
        SECONDS_PER_HOUR,
        "seconds",
        "wall-clock cap of one list download; 0 would fail every fetch",
        low_exclusive=True,
    ),
}


# Config keys that take one of a few words: "section.key" → (the words, what they mean).
# Checked while loading like the numbers above, so a typo ("dayly") fails naming the key.
DIGEST_PERIODS = ("hourly", "daily")
DIGEST_THRESHOLDS = ("low", "medium", "high", "critical", "none")
CHOICES: dict[str, tuple[tuple[str, ...], str]] = {
    "channels.digest": (
        DIGEST_PERIODS,
        "one message per UTC hour or day lists the channel's stories instead of one per story",
    ),
    "channels.digest_immediate_from": (
        DIGEST_THRESHOLDS,
        "stories of this severity or above post at once in a digest channel; none: every"
        " story waits for the digest",
    ),
}


def check_choice(value: object, name: str, where: str, src: str) -> str:
    """``value`` if it is one of the words allowed for config key ``name`` ("section.key"),
    else a `ConfigError` naming the file, the key (``where``) and the allowed words."""
    words, why = CHOICES[name]
    if not isinstance(value, str) or value.strip().lower() not in words:
        raise ConfigError(
            f"{src}: key '{where}' must be one of {', '.join(words)}, got {value!r}",
            hint=why,
        )
    return value.strip().lower()


def fmt(value: object) -> str:
    """A number as the user would write it (10.0 → 10, 0.05 → 0.05)."""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def check_ranges(table: Mapping[str, Any], section: str, where: str, src: str) -> None:
    """Raise `ConfigError` for the first number in ``table`` outside its range.

    Types are already checked (`config.tables.check_table`), so every ranged value is an int or a
    float here. ``where`` is the key prefix in messages, e.g. ``feeds[2].``.
    """
    prefix = f"{section}." if section else ""
    for key, value in table.items():
        rng = RANGES.get(prefix + key)
        if rng is not None and not rng.contains(value):
            raise ConfigError(
                f"{src}: key '{where}{key}' must be {rng.describe()}, got {value!r}",
                hint=f"{rng.unit}; {rng.why}",
            )


def preflight(settings: Settings, src: str, now: datetime) -> None:
    """Do the date arithmetic `run` does with config values, so a value that would make it
    raise (OverflowError, ValueError) fails at load time, naming the key. The ranges already
    exclude such values; this is the second net for values set in code (the demo feed) and for
    a range widened later."""
    # (key, timedelta unit, signed amount): `run` adds intervals and backoff to now and
    # subtracts backfill and retention windows from it.
    steps: list[tuple[str, str, float]] = []
    for n, feed in enumerate(settings.feeds, start=1):
        steps.append((f"feeds[{n}].interval_minutes", "minutes", feed.interval_minutes))
        if feed.backfill_days is not None:
            steps.append((f"feeds[{n}].backfill_days", "days", -feed.backfill_days))
    poll, slack = settings.poll, settings.slack
    steps += [
        ("backfill_days", "days", -settings.backfill_days),
        ("retention_days", "days", -settings.retention_days),
        ("match_retention_days", "days", -settings.match_retention_days),
        ("poll.backoff_max_minutes", "minutes", poll.backoff_max_minutes),
        ("poll.jitter_s", "seconds", poll.jitter_s),
        ("slack.retry_after_cap_s", "seconds", slack.retry_after_cap_s),
    ]
    for key, unit, amount in steps:
        try:
            now + timedelta(**{unit: amount})
        except (OverflowError, ValueError) as exc:
            raise ConfigError(
                f"{src}: key '{key}' cannot be used to schedule a run: {exc}",
                hint="use a value within the range in the README's Configuration table",
            ) from exc


def check_url(value: str, key: str, src: str) -> None:
    """An http(s) URL every request can use: a host, a valid port, no spaces or control
    characters (httpx would refuse or mangle them on every request, failing it forever)."""
    try:
        parts = urlsplit(value)
        host, _ = parts.hostname, parts.port  # .port raises on a port out of range
        httpx.URL(value)
    except (ValueError, httpx.InvalidURL) as exc:
        raise ConfigError(f"{src}: key '{key}' is not a valid URL: {value!r} ({exc})") from exc
    if not host:
        raise ConfigError(f"{src}: key '{key}' has no host: {value!r}")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ConfigError(
            f"{src}: key '{key}' contains a space or control character: {value!r}",
            hint="percent-encode it (%20)",
        )


def check_user_agent(value: str, src: str) -> None:
    """Sent with every fetch: a control character (e.g. a newline) makes http.client refuse
    the header, failing every feed on every poll; a non-ASCII one would go out as Latin-1
    bytes, which servers read as they please."""
    if not value.strip() or not all(" " <= ch <= "~" for ch in value):
        raise ConfigError(
            f"{src}: key 'fetch.user_agent' must be printable ASCII text, got {value!r}",
            hint='e.g. "sanctionwatch (+https://example.org/contact)"',
        )


def markdown_table(default_of: Callable[[str], object]) -> str:
    """The README's table of every number: key, default, range, unit and why."""
    lines = ["| Key | Default | Range | Unit; why |", "| --- | --- | --- | --- |"]
    for name, rng in RANGES.items():
        section, _, key = name.rpartition(".")
        shown = {"": key, "feeds": f"[[feeds]] {key}", "lists": f"[[lists]] {key}"}.get(
            section, f"[{section}] {key}"
        )
        default = default_of(name)
        text = "the global `backfill_days`" if default is None else f"`{fmt(default)}`"
        lines.append(f"| `{shown}` | {text} | {rng.interval()} | {rng.unit}; {rng.why} |")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - prints the README table
    # Here, not at the top: settings.py imports this module, so a top import would be a cycle.
    from sanctionwatch.config.settings import default_for

    print(markdown_table(default_for))
