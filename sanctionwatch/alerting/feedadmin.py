"""Feed administration written once for the CLI (``feeds add|remove|pause|resume``,
``import-opml``, ``export-opml``) and Slack (``/feeds``, admins only).

A new feed is fetched and parsed once before it is stored (ingest/feedcheck.py), so a typo
or a web page's address fails at once with the reason, not silently at the next poll. From
Slack only http(s) addresses are accepted: a Slack user must not make the bot read files on
its host. Storage, audit and the TOML/added decisions are in storage/feedstore.py.

A ``/feeds`` change carries its Slack ``RequestKey``: a replayed or retried command raises
DuplicateRequest (storage/replay.py) and is applied once; a replayed add is dropped before it
fetches the feed again.
"""

from __future__ import annotations

import logging
import shlex
from dataclasses import dataclass
from typing import Any

from sanctionwatch.clock import utcnow
from sanctionwatch.config.ranges import RANGES
from sanctionwatch.config.settings import FeedConfig, Settings
from sanctionwatch.errors import ConfigError, FeedError, SanctionwatchError
from sanctionwatch.ingest.feedcheck import check_feed
from sanctionwatch.ingest.opml import Outline, parse_opml, write_opml
from sanctionwatch.slack.format import escape
from sanctionwatch.storage.audit import Actor
from sanctionwatch.storage.db import Store
from sanctionwatch.storage.feedstore import (
    FeedAdminError,
    add_feed,
    all_feeds,
    remove_feed,
    set_paused,
)
from sanctionwatch.storage.replay import RequestKey, ensure_new

log = logging.getLogger(__name__)

SLASH_COMMAND = "/feeds"
MAX_NAME_CHARS = 200  # a feed name is shown in every alert; keep it a name, not a text
HELP = (
    f"`{SLASH_COMMAND}` — the feeds the bot polls.\n"
    f"• `{SLASH_COMMAND} list`\n"
    f"• `{SLASH_COMMAND} add <name> <https-url> [#channel] [minutes]` (admins)\n"
    f"• `{SLASH_COMMAND} remove <name>` · `pause <name>` · `resume <name>` (admins)\n"
    'Quote a name with spaces: `"Reuters World"`.'
)


@dataclass(frozen=True)
class OpmlResult:
    added: list[str]
    skipped: list[str]  # "name: why"


def _check_url(url: str, local_ok: bool) -> str:
    from sanctionwatch.config.ranges import check_url

    url = url.strip()
    if url.startswith(("http://", "https://")):
        try:
            check_url(url, "url", "feed")
        except ConfigError as exc:
            raise FeedAdminError(exc.message) from exc
        return url
    if not local_ok:
        raise FeedAdminError(f"{url!r} is not an http(s) address", hint="give the feed's URL")
    return url


def add(
    settings: Settings,
    store: Store,
    name: str,
    url: str,
    actor: Actor,
    *,
    channel: str | None = None,
    interval_minutes: int | None = None,
    local_ok: bool = False,
    check: bool = True,
    request: RequestKey | None = None,
) -> str:
    """Validate (fetch once) and store a new feed; the confirmation line."""
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME_CHARS:
        raise FeedAdminError(f"a feed name must be 1 to {MAX_NAME_CHARS} characters")
    url = _check_url(url, local_ok)
    rng = RANGES["feeds.interval_minutes"]
    if interval_minutes is not None and not rng.contains(interval_minutes):
        raise FeedAdminError(f"interval must be {rng.describe()} minutes, got {interval_minutes}")
    if channel is not None and not channel.strip():
        raise FeedAdminError("the channel must not be empty")
    feed = FeedConfig(
        name=name,
        url=url,
        interval_minutes=interval_minutes or FeedConfig.interval_minutes,
        channel=channel,
    )
    ensure_new(store.db, request)  # a replay costs no fetch; add_feed's claim decides
    items = check_feed(url, name, settings.fetch) if check else None
    add_feed(store.db, settings.feeds, feed, actor, request=request)
    log.info("feed added feed=%s url=%s by=%s", name, url, actor.label)
    found = f" ({items} items now)" if items is not None else ""
    where = f", alerts to {channel} unless a rule names a channel" if channel else ""
    return f"added feed {name!r}: {url}{found}; polled from the next cycle{where}"


def remove(
    settings: Settings,
    store: Store,
    name: str,
    actor: Actor,
    request: RequestKey | None = None,
) -> str:
    remove_feed(store.db, settings.feeds, name, actor, request=request)
    return f"removed feed {name!r}"


def pause(
    settings: Settings,
    store: Store,
    name: str,
    actor: Actor,
    paused: bool,
    request: RequestKey | None = None,
) -> str:
    changed = set_paused(store.db, settings.feeds, name, paused, actor, request=request)
    verb = "paused" if paused else "resumed"
    return f"{verb} feed {name!r}" if changed else f"feed {name!r} was already {verb}"


def listing(settings: Settings, store: Store) -> list[dict[str, Any]]:
    """Every feed with its origin, pause state, channel and interval, plus the poll state."""
    out = []
    for m in all_feeds(settings.feeds, store.db):
        row = store.feed(m.feed.name)
        out.append(
            {
                **row,
                "name": m.feed.name,
                "url": m.feed.url,
                "origin": m.origin,
                "paused": m.paused,
                "channel": m.feed.channel,
                "interval_minutes": m.feed.interval_minutes,
            }
        )
    return out


def import_opml(
    settings: Settings, store: Store, data: bytes, source: str, actor: Actor, check: bool = True
) -> OpmlResult:
    """Add every outline not yet polled; an outline that fails its check is skipped with
    the reason (the others are still added)."""
    known = {m.feed.url: m.feed.name for m in all_feeds(settings.feeds, store.db)}
    added, skipped = [], []
    for outline in parse_opml(data, source):
        if outline.url in known:
            skipped.append(f"{outline.name}: already polled as {known[outline.url]!r}")
            continue
        try:
            add(settings, store, outline.name, outline.url, actor, check=check)
        except SanctionwatchError as exc:
            skipped.append(f"{outline.name}: {exc.message}")
            continue
        known[outline.url] = outline.name
        added.append(outline.name)
    return OpmlResult(added, skipped)


def export_opml(settings: Settings, store: Store) -> str:
    """Every feed (paused ones too: a reader importing the file decides for itself)."""
    feeds = [Outline(m.feed.name, m.feed.url) for m in all_feeds(settings.feeds, store.db)]
    return write_opml(feeds, utcnow())


# ---- Slack ---------------------------------------------------------------------------------


def run_slash(
    settings: Settings,
    store: Store,
    text: str,
    actor: Actor,
    request: RequestKey | None = None,
) -> str:
    """Apply one ``/feeds`` command; the reply (mrkdwn). Never raises for user errors.

    DuplicateRequest passes through: a replayed change was answered the first time."""
    try:
        words = shlex.split(text)
    except ValueError as exc:
        return f":warning: {escape(str(exc))}"
    verb = words[0].lower() if words else "list"
    args = words[1:]
    try:
        if verb in ("help", "-h", "--help"):
            return HELP
        if verb == "list":
            lines = [
                f"• *{escape(f['name'])}* {escape(f['url'])} ({f['origin']}"
                f"{', paused' if f['paused'] else ''}"
                f"{', ' + escape(f['channel']) if f['channel'] else ''})"
                for f in listing(settings, store)
            ]
            return "\n".join(lines) or "No feeds."
        if verb not in ("add", "remove", "pause", "resume"):
            return f"I don't know `{escape(verb)}`.\n{HELP}"
        if actor.id not in settings.slack.admins:
            return "Sorry — only admins can change feeds. `/feeds list` works for everyone."
        if verb == "add":
            return escape(_slash_add(settings, store, args, actor, request))
        if len(args) != 1:
            return f":warning: `{SLASH_COMMAND} {verb}` needs one feed name.\n{HELP}"
        if verb == "remove":
            return escape(remove(settings, store, args[0], actor, request))
        return escape(pause(settings, store, args[0], actor, verb == "pause", request))
    except (FeedAdminError, FeedError) as exc:
        hint = f" ({exc.hint})" if exc.hint else ""
        return f":warning: {escape(exc.message)}{escape(hint)}"


def _slash_add(
    settings: Settings, store: Store, args: list[str], actor: Actor, request: RequestKey | None
) -> str:
    if len(args) < 2:
        raise FeedAdminError(f"usage: {SLASH_COMMAND} add <name> <https-url> [#channel] [minutes]")
    name, url, extra = args[0], args[1].strip("<>").split("|")[0], args[2:]
    channel = next((a for a in extra if a.startswith("#") or a.startswith("<#")), None)
    minutes = next((int(a) for a in extra if a.isdigit()), None)
    if channel and channel.startswith("<#"):  # Slack's <#C123|name> channel mention
        channel = channel.strip("<>").split("|")[0].lstrip("#")
    return add(
        settings,
        store,
        name,
        url,
        actor,
        channel=channel,
        interval_minutes=minutes,
        request=request,
    )
