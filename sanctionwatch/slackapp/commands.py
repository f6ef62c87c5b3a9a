"""The /watchlist command in Slack: parse the text, run the command, render the reply.

The commands themselves are watchlists/commands.py (shared with ``bot.py watchlist``); this
module reads Slack's text syntax, keeps edits to ``[slack] admins`` and renders each result
as mrkdwn. No Slack framework here: ``work.py`` calls ``run_command`` after the listener has
acked and sends the returned mrkdwn to the command's response_url as an ephemeral reply.
Every piece of user or watchlist text in a reply goes through ``escape`` so a name like
``<!channel>`` cannot ping anyone.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sanctionwatch.alerting import mutecommands
from sanctionwatch.alerting.mutecommands import Muted, MuteList, Unmuted
from sanctionwatch.alerting.storyexplain import explain_story
from sanctionwatch.alerting.storyview import render_slack
from sanctionwatch.clock import iso
from sanctionwatch.errors import CommandError
from sanctionwatch.models import ENTRY_TYPES, Entry
from sanctionwatch.slack.format import escape
from sanctionwatch.storage.audit import Actor
from sanctionwatch.storage.db import Store
from sanctionwatch.storage.replay import RequestKey
from sanctionwatch.watchlists import commands
from sanctionwatch.watchlists.commands import (
    Added,
    Holders,
    ListEntries,
    Lists,
    Refused,
    Removed,
)
from sanctionwatch.watchlists.overlay import SOURCE_SLACK

log = logging.getLogger(__name__)

COMMAND = "/watchlist"
# Slack shows up to 40,000 characters, but a reply longer than a screen is useless; the rest
# is one `watchlist dump` away.
MAX_REPLY_CHARS = 3500
MAX_LIST_ENTRIES_SHOWN = 40
HELP = f"""*{COMMAND}* — what the bot watches for
• `{COMMAND} list` — all lists, with how many entries each has
• `{COMMAND} list <list>` — the entries of one list, their aliases and who added them
• `{COMMAND} show <name>` — which lists hold a name, its aliases and source
• `{COMMAND} add <list> <name> [| alias | alias …]` — add an entry (admins); a new list \
is created
• `{COMMAND} remove <list> <name>` — remove an entry added from Slack (admins)
• `{COMMAND} mute <entity|rule> <duration> [reason]` — keep a rule or an entry quiet for \
30m, 4h, 2d or 1w (at most 90d): its matches are recorded, not posted (admins)
• `{COMMAND} unmute <entity|rule>` — lift a mute now (admins); `{COMMAND} mutes` — the active ones
• `{COMMAND} story <alert number | story:ID | link>` — why items were joined into one story (or started a new one): outlets, similarity, thresholds (anyone)
• `{COMMAND} help` — this text

Names may contain spaces; `|` separates aliases (other spellings and scripts):
`{COMMAND} add vessels Sky Aries | SKY ARIES | Скай Овен`
A new entry takes its list's usual type and the tags all its entries share (so the rules that \
watch the list watch it too). Override with `type=` ({", ".join(ENTRY_TYPES)}) and \
`tags=a,b` before the name: `{COMMAND} add brokers type=person tags=dprk,arms-trade Jon Doe`. \
In a new list, entries are `{ENTRY_TYPES[-1]}`s (exact matching) unless you give a type.
Entries from the versioned watchlist files are changed by pull request \
(`python bot.py watchlist dump <list>` writes a list out)."""
_SLACK_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))

Baseline = Callable[[Store], Sequence[Entry]]


@dataclass(frozen=True)
class CommandContext:
    """What a command needs besides its text."""

    store: Store
    baseline: Baseline  # file + imported entries (overlay entries are read from the store)
    admins: tuple[str, ...]
    request: RequestKey | None = None  # the Slack request, claimed by add/remove (replay.py)
    rules: Callable[[], Sequence[str]] = tuple  # rule names, for mute/unmute
    story_window_hours: int = 72  # Settings.story_window_hours, for `story` (work.py passes it)


def unescape(text: str) -> str:
    """Slack sends ``&``, ``<`` and ``>`` in command text as entities; undo that."""
    for entity, char in _SLACK_ENTITIES:
        text = text.replace(entity, char)
    return text


def refusal(ctx: CommandContext) -> str:
    who = ", ".join(f"<@{a}>" for a in ctx.admins) or "nobody yet (set [slack] admins)"
    return (
        "Sorry — only watchlist admins can add or remove entries. "
        f"Admins: {who}. You can still use `{COMMAND} list` and `{COMMAND} show <name>`."
    )


Result = Added | Removed | Lists | ListEntries | Holders | Refused | Muted | Unmuted | MuteList
EDITS = ("add", "remove", "mute", "unmute")  # admins only


def run_command(ctx: CommandContext, text: str, actor: Actor) -> str:
    """Apply one /watchlist command; return the reply (mrkdwn). Never raises for user errors.

    DuplicateRequest (replay.py) passes through: a replayed edit gets no reply at all."""
    words = unescape(text).strip().split(None, 1)
    sub = words[0].lower() if words else "help"
    rest = words[1].strip() if len(words) > 1 else ""
    if sub in ("help", "?", "-h", "--help"):
        return HELP
    if sub == "story":  # read-only, for anyone
        return story_reply(ctx, rest)
    if sub not in ("list", "show", "mutes", *EDITS):
        return (
            f"I don't know `{escape(sub)}`. Try `{COMMAND} add`, `remove`, `list`, `show` or"
            f" `help`.\n\n{HELP}"
        )
    if sub in EDITS and actor.id not in ctx.admins:
        log.info("watchlist edit refused user=%s sub=%s (not an admin)", actor.id, sub)
        return refusal(ctx)
    try:
        return render(execute(ctx, sub, rest, actor))
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            log.warning("watchlist command hit a busy database sub=%s", sub)
            return (
                ":hourglass: The database is busy (a poll is writing). Nothing changed; try again."
            )
        raise


def story_reply(ctx: CommandContext, ref: str) -> str:
    """``/watchlist story ID``: the story explanation (storyexplain.py) as mrkdwn."""
    if not ref:
        return f"Usage: `{COMMAND} story <alert number | story:ID | link>`"
    try:
        return render_slack(explain_story(ctx.store, ref, ctx.story_window_hours))
    except CommandError as exc:
        hint = f" ({escape(exc.hint)})" if exc.hint else ""
        return f":warning: {escape(exc.message)}{hint}"


def execute(ctx: CommandContext, sub: str, rest: str, actor: Actor) -> Result:
    """Run sub-command ``sub`` (list, show, add or remove) with its text ``rest``."""
    if sub == "add":
        args = commands.parse_add(rest)
        if isinstance(args, Refused):
            return args
        return commands.add(ctx.store, ctx.baseline(ctx.store), actor, args, ctx.request)
    if sub == "remove":
        target = commands.split_remove(rest)
        if isinstance(target, Refused):
            return target
        list_name, name = target
        baseline = ctx.baseline(ctx.store)
        return commands.remove(ctx.store, baseline, actor, list_name, name, ctx.request)
    if sub in ("mute", "unmute"):
        entries = commands.current_entries(ctx.store, ctx.baseline(ctx.store))
        fn = mutecommands.mute if sub == "mute" else mutecommands.unmute
        return fn(ctx.store, entries, ctx.rules(), actor, rest)
    if sub == "mutes":
        return mutecommands.mutes(ctx.store)
    entries = commands.current_entries(ctx.store, ctx.baseline(ctx.store))
    if sub == "show":
        return commands.show(entries, rest)
    return commands.list_entries(entries, rest) if rest else commands.lists(entries)


# ---- rendering ------------------------------------------------------------------------------
def render(result: Result) -> str:
    """One command result as mrkdwn, every user or watchlist text escaped."""
    if isinstance(result, Refused):
        usage = f"Usage: `{COMMAND} {result.usage}`" if result.usage else ""
        return f":warning: {escape(' '.join(p for p in (result.reason, usage) if p))}"
    if isinstance(result, Added):
        return _added(result)
    if isinstance(result, Muted | Unmuted | MuteList):
        return render_mute(result)
    if isinstance(result, Removed):
        e = result.entry
        return (
            f":wastebasket: Removed *{escape(e.name)}* from `{escape(e.list)}`."
            " It stops matching from the next poll."
        )
    if isinstance(result, Lists):
        lines = [f"*{len(result.lists)} watchlists*"]
        for c in result.lists:
            extra = f", {c.from_slack} added from Slack" if c.from_slack else ""
            lines.append(f"• `{escape(c.name)}` — {c.entries} entries{extra}")
        return _fit(lines, f"Use `{COMMAND} list <list>`.")
    if isinstance(result, ListEntries):
        head = f"*{escape(result.name)}* — {len(result.entries)} entries (new entries: "
        head += escape(result.new_type)
        tags = ", ".join(escape(t) for t in result.new_tags)
        head += f", tags {tags})" if tags else ", no shared tags)"
        return _fit(
            [head, *(f"• {_describe(e)}" for e in result.entries)],
            f"`python bot.py watchlist dump {escape(result.name)}` prints them all.",
        )
    return _holders(result)


def render_mute(result: Muted | Unmuted | MuteList) -> str:
    if isinstance(result, Muted):
        m = result.mute
        why = f" — {escape(m.reason)}" if m.reason else ""
        return (
            f":mute: Muted {m.kind} *{escape(m.label)}* until {iso(m.until)}{why}. Its matches"
            f" are recorded, not posted. `{COMMAND} unmute {escape(m.label)}` lifts it."
        )
    if isinstance(result, Unmuted):
        return f":loud_sound: Unmuted *{escape(result.label)}*: it alerts again from the next poll."
    if not result.mutes:
        return "Nothing is muted."
    lines = [f"*{len(result.mutes)} active mute(s)*"]
    for m in result.mutes:
        why = f" — {escape(m.reason)}" if m.reason else ""
        lines.append(
            f"• {m.kind} *{escape(m.label)}* until {iso(m.until)} by {escape(m.created_by)}{why}"
        )
    return _fit(lines, "")


def _added(result: Added) -> str:
    e = result.entry
    lines = [
        f":white_check_mark: Added *{escape(e.name)}* to "
        + (f"*new list* `{escape(e.list)}`" if result.created_list else f"`{escape(e.list)}`")
        + f" as a {escape(e.type)}."
    ]
    if e.aliases:
        lines.append("Aliases: " + ", ".join(escape(a) for a in e.aliases))
    lines.append(
        "Tags: "
        + (", ".join(escape(t) for t in e.tags) if e.tags else "none")
        + (" · exact matching" if e.strict or e.type == "keyword" else "")
    )
    if result.created_list:
        lines.append("No rule watches a new list until one names it (`watchlists:` or its tags).")
    lines.append("It applies from the next poll.")
    return "\n".join(lines)


def _holders(result: Holders) -> str:
    if not result.entries:
        return f"*{escape(result.name)}* is not on any watchlist (exact name or alias)."
    lines = [f"*{escape(result.name)}* is on {len(result.entries)} list(s):"]
    for e in result.entries:
        line = f"• `{escape(e.list)}`: {_describe(e)}"
        if e.tags:
            line += f" · tags: {', '.join(escape(t) for t in e.tags)}"
        lines.append(line)
    return _fit(lines, "")


def _describe(e: Entry) -> str:
    origin = (
        f"added by {escape(e.added_by)}" if e.source == SOURCE_SLACK else f"from {escape(e.source)}"
    )
    line = f"*{escape(e.name)}* ({escape(e.type)}, {origin})"
    if e.aliases:
        line += " — " + ", ".join(escape(a) for a in e.aliases)
    return line


def _fit(lines: list[str], more_hint: str) -> str:
    shown, left_off = commands.cut(lines, MAX_LIST_ENTRIES_SHOWN, MAX_REPLY_CHARS)
    if left_off:
        shown.append(f"… and {left_off} more. {more_hint}")
    return "\n".join(shown)
