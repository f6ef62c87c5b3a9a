"""The /watchlist command as plain functions: parse the text, apply it, return the reply.

No Slack framework here: ``app_work.py`` calls ``run_command`` after the listener has acked and
sends the returned mrkdwn to the command's response_url as an ephemeral reply. Every piece of user or watchlist text in a reply goes
through ``escape`` so a name like ``<!channel>`` cannot ping anyone.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sanctionwatch.errors import SlackCommandError
from sanctionwatch.models import ENTRY_TYPES, Entry
from sanctionwatch.slack.format import escape
from sanctionwatch.storage.audit import Actor
from sanctionwatch.storage.db import Store
from sanctionwatch.storage.replay import RequestKey
from sanctionwatch.watchlists.overlay import (
    SOURCE_SLACK,
    EditError,
    add_entry,
    find_in,
    list_defaults,
    list_names,
    overlay_entries,
    remove_entry,
)

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
• `{COMMAND} help` — this text

Names may contain spaces; `|` separates aliases (other spellings and scripts):
`{COMMAND} add vessels Sky Aries | SKY ARIES | Скай Овен`
A new entry takes its list's usual type and the tags all its entries share (so the rules that \
watch the list watch it too). Override with `type=` ({", ".join(ENTRY_TYPES)}) and \
`tags=a,b` before the name: `{COMMAND} add brokers type=person tags=dprk,arms-trade Jon Doe`. \
In a new list, entries are `{ENTRY_TYPES[-1]}`s (exact matching) unless you give a type.
Entries from the versioned watchlist files are changed by pull request \
(`python bot.py watchlist dump <list>` writes a list out)."""
_OPTION_RE = re.compile(r"^(type|tags)=(\S*)$", re.IGNORECASE)
_SLACK_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))

Baseline = Callable[[Store], Sequence[Entry]]


@dataclass(frozen=True)
class CommandContext:
    """What a command needs besides its text."""

    store: Store
    baseline: Baseline  # file + imported entries (overlay entries are read from the store)
    admins: tuple[str, ...]
    request: RequestKey | None = None  # the Slack request, claimed by add/remove (replay.py)


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


def run_command(ctx: CommandContext, text: str, actor: Actor) -> str:
    """Apply one /watchlist command; return the reply (mrkdwn). Never raises for user errors.

    DuplicateRequest (replay.py) passes through: a replayed edit gets no reply at all."""
    words = unescape(text).strip().split(None, 1)
    sub = words[0].lower() if words else "help"
    rest = words[1].strip() if len(words) > 1 else ""
    try:
        if sub in ("help", "?", "-h", "--help"):
            return HELP
        if sub == "list":
            return cmd_list(ctx, rest)
        if sub == "show":
            return cmd_show(ctx, rest)
        if sub in ("add", "remove"):
            if actor.id not in ctx.admins:
                log.info("watchlist edit refused user=%s sub=%s (not an admin)", actor.id, sub)
                return refusal(ctx)
            return cmd_add(ctx, rest, actor) if sub == "add" else cmd_remove(ctx, rest, actor)
    except SlackCommandError as exc:
        return f":warning: {escape(exc.message)}"
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            log.warning("watchlist command hit a busy database sub=%s", sub)
            return (
                ":hourglass: The database is busy (a poll is writing). Nothing changed; try again."
            )
        raise
    return (
        f"I don't know `{escape(sub)}`. Try `{COMMAND} add`, `remove`, `list`, `show` or `help`."
        f"\n\n{HELP}"
    )


def parse_add(rest: str) -> tuple[str, str, list[str], str | None, list[str] | None]:
    """``<list> [type=T] [tags=a,b] <name> [| alias …]`` → (list, name, aliases, type, tags)."""
    parts = rest.split(None, 1)
    if len(parts) < 2:
        raise EditError(f"Usage: `{COMMAND} add <list> <name> [| alias | alias …]`")
    list_name, remainder = parts
    etype: str | None = None
    tags: list[str] | None = None
    while True:
        head = remainder.split(None, 1)
        m = _OPTION_RE.match(head[0]) if head else None
        if not m:
            break
        key, value = m.group(1).lower(), m.group(2)
        if key == "type":
            etype = value.lower()
        else:
            tags = [t.strip().lower() for t in value.split(",") if t.strip()]
        remainder = head[1] if len(head) > 1 else ""
    name, *aliases = (p.strip() for p in remainder.split("|"))
    if not name:
        raise EditError(f"Which name? Usage: `{COMMAND} add <list> <name> [| alias …]`")
    return list_name, name, [a for a in aliases if a], etype, tags


def cmd_add(ctx: CommandContext, rest: str, actor: Actor) -> str:
    list_name, name, aliases, etype, tags = parse_add(rest)
    result = add_entry(
        ctx.store,
        ctx.baseline(ctx.store),
        actor,
        list_name,
        name,
        aliases,
        etype=etype,
        tags=tags,
        request=ctx.request,
    )
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


def cmd_remove(ctx: CommandContext, rest: str, actor: Actor) -> str:
    parts = rest.split(None, 1)
    if len(parts) < 2:
        raise EditError(f"Usage: `{COMMAND} remove <list> <name>`")
    entry = remove_entry(
        ctx.store, ctx.baseline(ctx.store), actor, parts[0], parts[1], request=ctx.request
    )
    return (
        f":wastebasket: Removed *{escape(entry.name)}* from `{escape(entry.list)}`."
        " It stops matching from the next poll."
    )


def all_entries(ctx: CommandContext) -> list[Entry]:
    return [*ctx.baseline(ctx.store), *overlay_entries(ctx.store.db)]


def _describe(e: Entry) -> str:
    origin = (
        f"added by {escape(e.added_by)}" if e.source == SOURCE_SLACK else f"from {escape(e.source)}"
    )
    line = f"• *{escape(e.name)}* ({escape(e.type)}, {origin})"
    if e.aliases:
        line += " — " + ", ".join(escape(a) for a in e.aliases)
    return line


def _fit(lines: list[str], more_hint: str) -> str:
    out: list[str] = []
    used = 0
    for i, line in enumerate(lines):
        if used + len(line) + 1 > MAX_REPLY_CHARS or i >= MAX_LIST_ENTRIES_SHOWN:
            out.append(f"… and {len(lines) - i} more. {more_hint}")
            break
        out.append(line)
        used += len(line) + 1
    return "\n".join(out)


def cmd_list(ctx: CommandContext, rest: str) -> str:
    entries = all_entries(ctx)
    if not rest:
        counts = Counter(e.list for e in entries)
        slack = Counter(e.list for e in entries if e.source == SOURCE_SLACK)
        lines = [f"*{len(counts)} watchlists*"]
        for name in sorted(counts):
            extra = f", {slack[name]} added from Slack" if slack[name] else ""
            lines.append(f"• `{escape(name)}` — {counts[name]} entries{extra}")
        return _fit(lines, f"Use `{COMMAND} list <list>`.")
    list_name = rest.split()[0].lower()
    members = [e for e in entries if e.list == list_name]
    if not members:
        known = ", ".join(f"`{escape(n)}`" for n in list_names(entries))
        raise EditError(f"There is no list {list_name!r}. Lists: {known or 'none'}.")
    etype, tags, _strict = list_defaults(members)
    head = f"*{escape(list_name)}* — {len(members)} entries (new entries: {escape(etype)}"
    head += f", tags {', '.join(escape(t) for t in tags)})" if tags else ", no shared tags)"
    return _fit(
        [head, *(_describe(e) for e in members)],
        f"`python bot.py watchlist dump {escape(list_name)}` prints them all.",
    )


def cmd_show(ctx: CommandContext, rest: str) -> str:
    name = " ".join(rest.split())
    if not name:
        raise EditError(f"Usage: `{COMMAND} show <name>`")
    found = find_in(all_entries(ctx), name)
    if not found:
        return f"*{escape(name)}* is not on any watchlist (exact name or alias)."
    lines = [f"*{escape(name)}* is on {len(found)} list(s):"]
    for e in found:
        line = f"• `{escape(e.list)}`: {_describe(e)[2:]}"
        if e.tags:
            line += f" · tags: {', '.join(escape(t) for t in e.tags)}"
        lines.append(line)
    return _fit(lines, "")
