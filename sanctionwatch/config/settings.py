"""Load and validate the TOML config and the environment once, into frozen settings.

This is the only module that reads ``os.environ``; everything else receives a ``Settings``.
Resolution order for the config file: ``--config PATH``, else ``$SANCTIONWATCH_CONFIG``,
else ``sanctionwatch.toml`` in the working directory, else built-in defaults that poll the
bundled demo feed. Relative paths in a config file resolve against the file's folder.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sanctionwatch import __version__
from sanctionwatch.config.channels import ChannelSettings, parse_channels
from sanctionwatch.config.defaults import (  # noqa: F401 - REPO_ROOT, PACKAGE_DIR for callers
    DEFAULT_RULES,
    DEFAULT_WATCHLISTS,
    DEMO_FEED,
    PACKAGE_DIR,
    REPO_ROOT,
)
from sanctionwatch.config.lists import ListConfig, parse_lists
from sanctionwatch.config.ranges import check_ranges, check_url, check_user_agent, preflight
from sanctionwatch.config.tables import check_table, given, location
from sanctionwatch.errors import ConfigError

DEFAULT_CONFIG_NAME = "sanctionwatch.toml"
DEFAULT_API_URL = "https://slack.com/api/"
DEFAULT_DATABASE = "sanctionwatch.db"  # relative to the config file's folder
DEFAULT_EXPORTS_DIR = "exports"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
SEVERITIES = ("low", "medium", "high", "critical")
# The demo feed's items carry fixed (past) dates; the demo must still alert on a fresh
# machine, so the built-in demo feed ignores the backfill window.
DEMO_BACKFILL_DAYS = 100_000


DEFAULT_USER_AGENT = f"sanctionwatch/{__version__} (+https://github.com/sanctionwatch)"


@dataclass(frozen=True)
class FetchSettings:
    connect_timeout_s: float = 10.0
    total_timeout_s: float = 30.0  # wall-clock cap for the whole fetch, enforced while streaming
    max_bytes: int = 10 * 1024 * 1024  # cap on DECOMPRESSED bytes, enforced while streaming
    max_redirects: int = 5
    user_agent: str = DEFAULT_USER_AGENT
    max_items: int = 500  # items kept per feed document
    max_title_chars: int = 500
    max_text_chars: int = 20_000
    # Private address ranges (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7) may be fetched
    # only when set; loopback is always allowed (local feeds), link-local and metadata never.
    allow_private: bool = False


@dataclass(frozen=True)
class FeedConfig:
    name: str
    url: str  # http(s) URL or a local file path (absolute after loading)
    interval_minutes: int = 15
    backfill_days: int | None = None  # per-feed override of Settings.backfill_days
    # Alerts from this feed go here unless the rule names a channel (rule > feed > default).
    channel: str | None = None


@dataclass(frozen=True)
class SlackSettings:
    api_url: str = DEFAULT_API_URL
    default_channel: str = "#sanctions-alerts"
    export_channel: str = "#compliance"
    export_weekday: str = "monday"
    export_time: str = "08:00"
    ops_channel: str | None = None
    admins: tuple[str, ...] = ()
    # Slack user ids allowed to set review dispositions; empty: anyone in the alert's channel.
    reviewers: tuple[str, ...] = ()
    alert_designations: bool = True  # post newly designated entries after a list import
    token: str | None = field(default=None, repr=False)  # SLACK_BOT_TOKEN; None → dry run
    signing_secret: str | None = field(default=None, repr=False)  # SLACK_SIGNING_SECRET
    app_token: str | None = field(default=None, repr=False)  # SLACK_APP_TOKEN (Socket Mode)
    retry_after_cap_s: float = 30.0
    max_retries: int = 3
    # per-request timeout of Slack calls; see slack_post.DEFAULT_TIMEOUT_S
    timeout_s: float = 10.0
    # where Escalate posts the story, who escalated it and why; None: nowhere but the message
    escalation_channel: str | None = None
    # a user group or user Escalate mentions: "<!subteam^S123>", "<@U123>"; None: nobody
    escalation_mention: str | None = None

    @property
    def dry_run(self) -> bool:
        return not self.token


@dataclass(frozen=True)
class PollSettings:
    max_workers: int = 16  # concurrent fetches (bounded pool)
    per_host: int = 2  # concurrent requests to one host
    jitter_s: float = 30.0  # random delay spread across due feeds (forever mode only)
    backoff_max_minutes: int = 24 * 60  # cap of exponential backoff for failing feeds
    failure_report_after: int = 5  # consecutive failures before ops are told (once)


@dataclass(frozen=True)
class Settings:
    config_path: Path | None
    database: Path
    watchlists: Path
    rules: Path
    exports_dir: Path
    backfill_days: int = 3
    retention_days: int = 90  # items without matches
    match_retention_days: int = 365  # items with matches that never alerted
    # A list re-import removing more than this share of the stored entries needs --force.
    max_delist_fraction: float = 0.05
    # Items alerting within this many hours of a story's last item may join it (stories.py).
    story_window_hours: int = 72
    feeds: tuple[FeedConfig, ...] = ()
    lists: tuple[ListConfig, ...] = ()  # [[lists]]: official lists refreshed on schedule
    slack: SlackSettings = SlackSettings()
    channels: tuple[ChannelSettings, ...] = ()  # [channels."#name"]: digest settings
    fetch: FetchSettings = FetchSettings()
    poll: PollSettings = PollSettings()
    log_level: str = "INFO"
    log_json: bool = False
    demo: bool = False  # built-in defaults in use (no config file)


_TOP_KEYS: dict[str, type | tuple[type, ...]] = {
    "database": str,
    "watchlists": str,
    "rules": str,
    "exports_dir": str,
    "backfill_days": int,
    "retention_days": int,
    "match_retention_days": int,
    "max_delist_fraction": (int, float),
    "story_window_hours": int,
    "log_level": str,
    "log_json": bool,
    "slack": dict,
    "feeds": list,
    "lists": list,
    "channels": dict,
    "fetch": dict,
    "poll": dict,
}
_SLACK_KEYS: dict[str, type | tuple[type, ...]] = {
    "api_url": str,
    "default_channel": str,
    "export_channel": str,
    "export_weekday": str,
    "export_time": str,
    "ops_channel": str,
    "admins": list,
    "reviewers": list,
    "alert_designations": bool,
    "retry_after_cap_s": (int, float),
    "max_retries": int,
    "timeout_s": (int, float),
    "escalation_channel": str,
    "escalation_mention": str,
}
_FEED_KEYS: dict[str, type | tuple[type, ...]] = {
    "name": str,
    "url": str,
    "interval_minutes": int,
    "backfill_days": int,
    "channel": str,
}
_FETCH_KEYS: dict[str, type | tuple[type, ...]] = {
    "connect_timeout_s": (int, float),
    "total_timeout_s": (int, float),
    "max_bytes": int,
    "max_redirects": int,
    "max_items": int,
    "user_agent": str,
    "allow_private": bool,
}
_POLL_KEYS: dict[str, type | tuple[type, ...]] = {
    "max_workers": int,
    "per_host": int,
    "jitter_s": (int, float),
    "backoff_max_minutes": int,
    "failure_report_after": int,
}
# Which dataclass holds the defaults of each config section.
_DEFAULTS_IN: dict[str, type] = {
    "": Settings,
    "slack": SlackSettings,
    "fetch": FetchSettings,
    "poll": PollSettings,
    "feeds": FeedConfig,
    "lists": ListConfig,
}
# A user group, a user, or @here/@channel, written the way Slack's mrkdwn spells mentions.
_MENTION_RE = re.compile(r"^<(!subteam\^[A-Z0-9]+(\|[^<>]*)?|@[UW][A-Z0-9]+|!here|!channel)>$")
_TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def default_for(name: str) -> object:
    """The default of config key ``name`` ("section.key", top-level keys without a section),
    read from its dataclass; the README's table of numbers shows it."""
    section, _, key = name.rpartition(".")
    holder = _DEFAULTS_IN[section]
    for f in dataclasses.fields(holder):
        if f.name == key and f.default is not dataclasses.MISSING:
            return f.default
    raise KeyError(f"no default for config key {name!r}")


def _resolve(base: Path, value: str) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else (base / p)


def _is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def find_config(explicit: str | None, env: Mapping[str, str], cwd: Path) -> Path | None:
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}", hint="check the --config path")
        return path
    from_env = env.get("SANCTIONWATCH_CONFIG")
    if from_env:
        path = Path(from_env).expanduser()
        if not path.is_file():
            raise ConfigError(
                f"config file not found: {path} (from $SANCTIONWATCH_CONFIG)",
                hint="unset SANCTIONWATCH_CONFIG or point it at an existing file",
            )
        return path
    local = cwd / DEFAULT_CONFIG_NAME
    return local if local.is_file() else None


def load_settings(
    explicit: str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Read the config file (if any) and the environment into a frozen ``Settings``."""
    env = dict(os.environ) if env is None else env
    cwd = Path.cwd() if cwd is None else cwd
    path = find_config(explicit, env, cwd)
    if path is None:
        raw: dict[str, Any] = {}
        base = cwd
        src = "built-in defaults"
    else:
        src = str(path)
        base = path.resolve().parent
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{src}: invalid TOML: {exc}", hint="fix the syntax") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{src}: cannot read: {exc}") from exc
    return _build(raw, base, src, path, env)


def _build(
    raw: dict[str, Any], base: Path, src: str, path: Path | None, env: Mapping[str, str]
) -> Settings:
    check_table(raw, _TOP_KEYS, "", src)
    check_ranges(raw, "", "", src)
    sections: dict[str, dict[str, Any]] = {}
    for name, spec in (("slack", _SLACK_KEYS), ("fetch", _FETCH_KEYS), ("poll", _POLL_KEYS)):
        sections[name] = raw.get(name, {})
        check_table(sections[name], spec, f"{name}.", src)
        check_ranges(sections[name], name, f"{name}.", src)
    if "user_agent" in sections["fetch"]:
        check_user_agent(sections["fetch"]["user_agent"], src)

    slack = _slack_settings(sections["slack"], src, env)
    feeds = _feeds(raw.get("feeds"), base, src)
    demo = path is None and "feeds" not in raw
    if demo:
        feeds = (
            FeedConfig(name="Demo feed", url=str(DEMO_FEED), backfill_days=DEMO_BACKFILL_DAYS),
        )
    log_level = str(raw.get("log_level", default_for("log_level"))).upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"{src}: key 'log_level' must be DEBUG, INFO, WARNING or ERROR")
    paths = ("database", "watchlists", "rules", "exports_dir", "log_level", *sections)
    paths += ("feeds", "lists", "channels")
    settings = Settings(
        config_path=path,
        database=_resolve(base, raw.get("database", DEFAULT_DATABASE)),
        watchlists=_resolve(base, raw["watchlists"]) if "watchlists" in raw else DEFAULT_WATCHLISTS,
        rules=_resolve(base, raw["rules"]) if "rules" in raw else DEFAULT_RULES,
        exports_dir=_resolve(base, raw.get("exports_dir", DEFAULT_EXPORTS_DIR)),
        feeds=feeds,
        lists=parse_lists(raw.get("lists"), base, src),
        slack=slack,
        channels=parse_channels(raw.get("channels"), src),
        fetch=FetchSettings(**given(sections["fetch"], _FETCH_KEYS)),
        poll=PollSettings(**given(sections["poll"], _POLL_KEYS)),
        log_level=log_level,
        demo=demo,
        **given(raw, _TOP_KEYS, *paths),
    )
    preflight(settings, src, datetime.now(UTC))
    return settings


def _slack_settings(raw: dict[str, Any], src: str, env: Mapping[str, str]) -> SlackSettings:
    weekday = raw.get("export_weekday", default_for("slack.export_weekday")).lower()
    if weekday not in WEEKDAYS:
        raise ConfigError(
            f"{src}: key 'slack.export_weekday' must be a weekday name, got {weekday!r}",
            hint=", ".join(WEEKDAYS),
        )
    export_time = raw.get("export_time", default_for("slack.export_time"))
    if not _TIME_RE.match(export_time):
        raise ConfigError(
            f"{src}: key 'slack.export_time' must be HH:MM (UTC, 24-hour), got {export_time!r}"
        )
    for key in ("admins", "reviewers"):
        if not all(isinstance(a, str) and a for a in raw.get(key, [])):
            raise ConfigError(
                f"{src}: key 'slack.{key}' must be a list of Slack user ids (strings)"
            )
    api_url = env.get("SLACK_API_URL") or raw.get("api_url", DEFAULT_API_URL)
    if not _is_url(api_url):
        raise ConfigError(f"{src}: key 'slack.api_url' must be an http(s) URL, got {api_url!r}")
    check_url(api_url, "slack.api_url", src)
    if not api_url.endswith("/"):
        api_url += "/"
    for key in ("default_channel", "export_channel", "ops_channel", "escalation_channel"):
        if key in raw and not raw[key].strip():
            raise ConfigError(f"{src}: key 'slack.{key}' must not be empty")
    mention = raw.get("escalation_mention")
    if mention is not None and not _MENTION_RE.match(mention):
        raise ConfigError(
            f"{src}: key 'slack.escalation_mention' must be a Slack mention such as"
            f" '<!subteam^S0123ABC>' (a user group) or '<@U0123ABC>', got {mention!r}"
        )
    handled = ("api_url", "export_weekday", "export_time", "admins", "reviewers")
    return SlackSettings(
        api_url=api_url,
        export_weekday=weekday,
        export_time=export_time,
        admins=tuple(raw.get("admins", ())),
        reviewers=tuple(raw.get("reviewers", ())),
        token=env.get("SLACK_BOT_TOKEN") or None,
        signing_secret=env.get("SLACK_SIGNING_SECRET") or None,
        app_token=env.get("SLACK_APP_TOKEN") or None,
        **given(raw, _SLACK_KEYS, *handled),
    )


def _feeds(raw: Any, base: Path, src: str) -> tuple[FeedConfig, ...]:
    if raw is None:
        return ()
    feeds: list[FeedConfig] = []
    seen: set[str] = set()
    for n, table in enumerate(raw, start=1):
        where = f"feeds[{n}]"
        if not isinstance(table, dict):
            raise ConfigError(f"{src}: '{where}' must be a table ([[feeds]])")
        check_table(table, _FEED_KEYS, f"{where}.", src)
        check_ranges(table, "feeds", f"{where}.", src)
        for key in ("name", "url"):
            if not str(table.get(key, "")).strip():
                raise ConfigError(f"{src}: '{where}' is missing key '{key}'")
        name = table["name"].strip()
        if name in seen:
            raise ConfigError(f"{src}: '{where}': duplicate feed name {name!r}")
        seen.add(name)
        url = location(table["url"], f"{where}.url", src, base)
        if "channel" in table and not table["channel"].strip():
            raise ConfigError(f"{src}: key '{where}.channel' must not be empty")
        feeds.append(FeedConfig(name=name, url=url, **given(table, _FEED_KEYS, "name", "url")))
    return tuple(feeds)
