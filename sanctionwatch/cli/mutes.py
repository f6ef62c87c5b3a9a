"""``bot.py watchlist mute|unmute|mutes``: the Slack mute commands from the terminal.

The logic is alerting/mutecommands.py, shared with ``/watchlist mute``; terminal mutes are
audited as the local user, like terminal edits.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TextIO

from sanctionwatch.alerting import mutecommands
from sanctionwatch.alerting.mutecommands import Muted, Unmuted
from sanctionwatch.cli.common import print_json, settings_from_args
from sanctionwatch.clock import iso
from sanctionwatch.errors import CommandError
from sanctionwatch.matching.rules import load_rules
from sanctionwatch.runtime import open_store
from sanctionwatch.storage.audit import Actor
from sanctionwatch.watchlists import commands
from sanctionwatch.watchlists.commands import Refused
from sanctionwatch.watchlists.overlay import baseline_entries


def _change(args: argparse.Namespace, out: TextIO, actor: Actor, sub: str) -> int:
    settings = settings_from_args(args)
    store = open_store(settings)
    entries = commands.current_entries(store, baseline_entries(settings.watchlists, store.db))
    rules = [r.name for r in load_rules(settings.rules)]
    text = " ".join(args.words)
    fn = mutecommands.mute if sub == "mute" else mutecommands.unmute
    result = fn(store, entries, rules, actor, text)
    if isinstance(result, Refused):
        usage = f"usage: python bot.py watchlist {result.usage}" if result.usage else ""
        raise CommandError(result.reason or usage, hint=usage if result.reason else "")
    if isinstance(result, Muted):
        m = result.mute
        print(f"muted {m.kind} {m.label!r} until {iso(m.until)}", file=out)
    elif isinstance(result, Unmuted):
        print(f"unmuted {result.label!r}", file=out)
    return 0


def cmd_mutes(args: argparse.Namespace, out: TextIO) -> int:
    settings = settings_from_args(args)
    rows = mutecommands.mute_status(open_store(settings))
    if args.json:
        print_json({"mutes": rows}, out)
        return 0
    for m in rows:
        why = f" — {m['reason']}" if m["reason"] else ""
        print(f"{m['kind']} {m['target']} until {m['until']} by {m['by']}{why}", file=out)
    if not rows:
        print("nothing is muted", file=out)
    return 0


def add_mute_commands(
    action: Callable[[str, Callable[..., int], str], argparse.ArgumentParser],
    actor: Callable[[], Actor],
) -> None:
    """Register ``mute``, ``unmute`` and ``mutes`` in the ``watchlist`` group."""

    def mute(args: argparse.Namespace, out: TextIO) -> int:
        return _change(args, out, actor(), "mute")

    def unmute(args: argparse.Namespace, out: TextIO) -> int:
        return _change(args, out, actor(), "unmute")

    p = action("mute", mute, "keep a rule or an entry quiet for a while (recorded, not posted)")
    p.add_argument("words", nargs="+", metavar="WORD", help="<entity|rule> <duration> [reason]")
    p = action("unmute", unmute, "lift the mute of a rule or an entry")
    p.add_argument("words", nargs="+", metavar="WORD", help="<entity|rule>")
    p = action("mutes", cmd_mutes, "the active mutes")
    p.add_argument("--json", action="store_true", help="one JSON document")
