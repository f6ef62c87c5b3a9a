"""Command line for the Slack app: ``serve`` and ``watchlist add|remove|list|show|log|dump|import``.

``add_commands(sub, command)`` is called by ``cli.build_parser`` with its sub-parsers and its
``command(name, handler, help)`` factory. Terminal edits are audited as the local user
(``getpass.getuser()``, via="cli"). Handlers print only to the ``out`` they are given.
"""

from __future__ import annotations

import argparse
import getpass
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO, TypeVar

from sanctionwatch.alerting.designations import announce
from sanctionwatch.cli.common import (
    STDIO,
    add_global_options,
    parse_date,
    print_json,
    settings_from_args,
)
from sanctionwatch.cli.progress import Progress
from sanctionwatch.cli.spool import spooled_stdin
from sanctionwatch.config.settings import Settings
from sanctionwatch.errors import CommandError, SanctionwatchError
from sanctionwatch.models import Entry
from sanctionwatch.runtime import make_poster, open_store
from sanctionwatch.storage.audit import WATCHLIST_ACTIONS, Actor, audit_rows
from sanctionwatch.watchlists import commands
from sanctionwatch.watchlists.commands import AddRequest, Refused
from sanctionwatch.watchlists.dump import dump_list
from sanctionwatch.watchlists.importaudit import LIST_IMPORT_ACTIONS, decoded, describe
from sanctionwatch.watchlists.imported import import_list
from sanctionwatch.watchlists.importers import FORMATS as IMPORT_FORMATS
from sanctionwatch.watchlists.importers import MAIN_FILE_NAMES, ImportReport
from sanctionwatch.watchlists.overlay import SOURCE_SLACK, baseline_entries, overlay_entries

T = TypeVar("T")
# A terminal has no reply limit, but a list longer than a screen is better read with
# `watchlist dump`; the same cut as in Slack.
MAX_LINES_SHOWN = 40


def local_actor() -> Actor:
    user = getpass.getuser()
    return Actor(user, user, "cli")


# ---- handlers ----------------------------------------------------------------------------
def cmd_serve(args: argparse.Namespace, out: TextIO) -> int:
    # Lazy on purpose: slack_bolt and waitress take about half a second to import and only
    # `serve` needs them; `run --once` from cron and every other command should not pay that.
    from sanctionwatch.slackapp.server import serve

    settings = settings_from_args(args)
    return serve(
        settings,
        out,
        host=args.host,
        port=args.port,
        socket_mode=args.socket_mode,
        poll=not args.no_poll,
    )


def cmd_add(args: argparse.Namespace, out: TextIO) -> int:
    settings = settings_from_args(args)
    store = open_store(settings)
    request = AddRequest(
        args.list,
        args.name,
        tuple(args.alias or ()),
        args.type,
        tuple(args.tags.split(",")) if args.tags is not None else None,
    )
    baseline = baseline_entries(settings.watchlists, store.db)
    result = _accepted(commands.add(store, baseline, local_actor(), request))
    e = result.entry
    new = " (new list)" if result.created_list else ""
    print(f"added {e.name!r} to {e.list}{new} as {e.type}; id {e.id}", file=out)
    print(f"  aliases: {', '.join(e.aliases) or '-'}   tags: {', '.join(e.tags) or '-'}", file=out)
    return 0


def cmd_remove(args: argparse.Namespace, out: TextIO) -> int:
    settings = settings_from_args(args)
    store = open_store(settings)
    baseline = baseline_entries(settings.watchlists, store.db)
    result = _accepted(commands.remove(store, baseline, local_actor(), args.list, args.name))
    print(f"removed {result.entry.name!r} from {result.entry.list}", file=out)
    return 0


def entry_dict(e: Entry) -> dict[str, Any]:
    """An entry as JSON (``watchlist list LIST --json``, ``watchlist show --json``)."""
    return {
        "id": e.id,
        "list": e.list,
        "name": e.name,
        "type": e.type,
        "aliases": list(e.aliases),
        "tags": list(e.tags),
        "source": e.source,
        "source_id": e.source_id,
        "programs": list(e.programs),
        "strict": e.strict,
        "added_by": e.added_by,
    }


def cmd_list(args: argparse.Namespace, out: TextIO) -> int:
    settings = settings_from_args(args)
    entries = _entries(settings)
    if not args.list:
        result = commands.lists(entries)
        if args.json:
            print_json([{"list": c.name, "entries": c.entries} for c in result.lists], out)
            return 0
        print(f"{len(result.lists)} watchlists", file=out)
        for c in result.lists:
            extra = f", {c.from_slack} added from Slack" if c.from_slack else ""
            print(f"• {c.name} — {c.entries} entries{extra}", file=out)
        return 0
    listed = _accepted(commands.list_entries(entries, args.list))
    if args.json:
        print_json({"list": listed.name, "entries": [entry_dict(e) for e in listed.entries]}, out)
        return 0
    tags = ", ".join(listed.new_tags)
    head = f"{listed.name} — {len(listed.entries)} entries (new entries: {listed.new_type}"
    head += f", tags {tags})" if tags else ", no shared tags)"
    lines = [head, *(f"• {_describe(e)}" for e in listed.entries)]
    shown, left_off = commands.cut(lines, MAX_LINES_SHOWN)
    if left_off:
        shown.append(
            f"… and {left_off} more. `python bot.py watchlist dump {listed.name}` prints them all."
        )
    print("\n".join(shown), file=out)
    return 0


def cmd_show(args: argparse.Namespace, out: TextIO) -> int:
    settings = settings_from_args(args)
    found = _accepted(commands.show(_entries(settings), " ".join(args.name)))
    if args.json:
        print_json({"name": found.name, "entries": [entry_dict(e) for e in found.entries]}, out)
        return 0
    if not found.entries:
        print(f"{found.name} is not on any watchlist (exact name or alias).", file=out)
        return 0
    print(f"{found.name} is on {len(found.entries)} list(s):", file=out)
    for e in found.entries:
        tags = f" · tags: {', '.join(e.tags)}" if e.tags else ""
        print(f"• {e.list}: {_describe(e)}{tags}", file=out)
    return 0


def _entries(settings: Settings) -> list[Entry]:
    store = open_store(settings)
    return commands.current_entries(store, baseline_entries(settings.watchlists, store.db))


def _describe(e: Entry) -> str:
    origin = f"added by {e.added_by}" if e.source == SOURCE_SLACK else f"from {e.source}"
    aliases = f" — {', '.join(e.aliases)}" if e.aliases else ""
    return f"{e.name} ({e.type}, {origin}){aliases}"


def _accepted(result: T | Refused) -> T:
    """The result, or the refusal raised as a CommandError (printed by cli.main, exit 1)."""
    if isinstance(result, Refused):
        usage = f"usage: python bot.py watchlist {result.usage}" if result.usage else ""
        raise CommandError(result.reason or usage, hint=usage if result.reason else "")
    return result


def cmd_log(args: argparse.Namespace, out: TextIO) -> int:
    settings = settings_from_args(args)
    store = open_store(settings)
    actions = None if args.all else (*WATCHLIST_ACTIONS, *LIST_IMPORT_ACTIONS)
    rows = audit_rows(store.db, since=args.since, actions=actions)
    if args.json:
        for row in rows:
            print(json.dumps(decoded(row), ensure_ascii=False), file=out)
        return 0
    if not rows:
        since = f" since {args.since:%Y-%m-%d}" if args.since else ""
        print(f"No changes recorded{since}.", file=out)
        return 0
    for row in rows:
        who = (
            row["actor_name"]
            if row["actor_name"] == row["actor_id"]
            else (f"{row['actor_name']} ({row['actor_id']})")
        )
        print(
            f"{row['at']}  {who} via {row['via']}: {row['action']}"
            f"{' list ' + row['list'] if row['list'] else ''}  {row['target']}",
            file=out,
        )
        if row["action"] in LIST_IMPORT_ACTIONS:
            for line in describe(row):
                print(line, file=out)
            continue
        for label in ("before", "after"):
            if row[label]:
                print(f"    {label}: {row[label]}", file=out)
    return 0


def cmd_dump(args: argparse.Namespace, out: TextIO) -> int:
    settings = settings_from_args(args)
    store = open_store(settings)
    name = args.list.lower()
    baseline = [e for e in baseline_entries(settings.watchlists, store.db) if e.list == name]
    added = overlay_entries(store.db, name)
    entries = [*baseline, *added]
    if not entries:
        raise SanctionwatchError(
            f"there is no list {name!r}", hint="`python bot.py watchlist list` shows the lists"
        )
    text = dump_list(settings.watchlists, name, baseline, added)
    if args.out and args.out != STDIO:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {len(entries)} entries of {name} to {args.out}", file=out)
    else:
        out.write(text)
    return 0


def _shown(names: list[str], limit: int = 10) -> str:
    return "; ".join(names[:limit]) + (" …" if len(names) > limit else "")


def _import(
    args: argparse.Namespace, settings: Settings, store: Any, path: Path, label: str | None
) -> ImportReport:
    with Progress(f"watchlist import {args.format}") as progress:
        report = import_list(
            store.db,
            args.format,
            path,
            args.name,
            force=args.force,
            max_delist_fraction=settings.max_delist_fraction,
            actor=local_actor(),
            progress=progress.step,
            source_label=label,
        )
        progress.step(f"stored {report.total:,} entries")
    return report


def cmd_import(args: argparse.Namespace, out: TextIO) -> int:
    settings = settings_from_args(args)
    store = open_store(settings)
    if args.path == STDIO:
        with spooled_stdin(args.format) as spooled:
            report = _import(args, settings, store, spooled, STDIO)
    else:
        report = _import(args, settings, store, Path(args.path), None)
    print(report.summary(), file=out)
    if report.list_version is not None:
        print(f"list date: {report.list_version.label}", file=out)
    for f in report.files:
        print(f"read {f.path} sha256 {f.sha256}", file=out)
    if report.forced:
        print("forced: accepted despite the delisting/age guard (--force)", file=out)
    first_import = report.version == 1
    if report.added and not first_import:
        print(f"newly designated: {_shown([e.name for e in report.added])}", file=out)
    if report.removed:
        print(f"delisted: {_shown([e.name for e in report.removed])}", file=out)
    if settings.slack.alert_designations and not args.no_announce:
        channel = settings.slack.default_channel
        if announce(report, make_poster(settings, out), channel, first_import, store):
            print(
                f"announced {len(report.added)} new designation(s) and "
                f"{len(report.removed)} delisting(s) to {channel}",
                file=out,
            )
    return 0


# ---- parser ------------------------------------------------------------------------------
def add_commands(sub: Any, command: Callable[..., argparse.ArgumentParser]) -> None:
    """Register ``serve`` and the ``watchlist`` group on the main parser."""
    p = command("serve", cmd_serve, "run the Slack app (HTTP or Socket Mode) and the polling")
    p.add_argument("--port", type=int, default=3000, help="HTTP port (default 3000)")
    p.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")  # noqa: S104
    p.add_argument(
        "--socket-mode", action="store_true", help="connect over Socket Mode (SLACK_APP_TOKEN)"
    )
    p.add_argument("--no-poll", action="store_true", help="serve Slack only; no feed polling")

    w = command("watchlist", _need_sub, "watchlist edits on top of the files, and their log")
    wsub = w.add_subparsers(dest="watchlist_command", metavar="ACTION")

    def action(name: str, handler: Callable[..., int], help_text: str) -> argparse.ArgumentParser:
        p = wsub.add_parser(name, help=help_text, description=help_text)
        add_global_options(p)
        p.set_defaults(handler=handler)
        return p

    p = action("add", cmd_add, "add an entry (audited as the local user)")
    p.add_argument("list", help="list name (created if new)")
    p.add_argument("name", help="canonical name (quote it if it has spaces)")
    p.add_argument("--alias", action="append", metavar="NAME", help="another spelling (repeat)")
    p.add_argument("--type", help="entry type (default: the list's usual type)")
    p.add_argument("--tags", help="comma-separated tags (default: tags the list shares)")
    p = action("remove", cmd_remove, "remove an entry added from Slack or the terminal")
    p.add_argument("list")
    p.add_argument("name")
    p = action("list", cmd_list, "the lists, or the entries of one list")
    p.add_argument("list", nargs="?")
    p.add_argument("--json", action="store_true", help="one JSON document")
    p = action("show", cmd_show, "which lists hold a name, its aliases and source")
    p.add_argument("name", nargs="+")
    p.add_argument("--json", action="store_true", help="one JSON document")
    p = action("log", cmd_log, "the audit log: who changed what, when")
    p.add_argument("--since", type=parse_date, help="YYYY-MM-DD (UTC), inclusive")
    p.add_argument("--all", action="store_true", help="include alert review decisions")
    p.add_argument(
        "--json",
        action="store_true",
        help="one JSON object a line (before/after decoded); includes list imports",
    )
    p = action("dump", cmd_dump, "write a list (files + edits merged) as watchlist YAML")
    p.add_argument("list")
    p.add_argument("--out", metavar="FILE", help="write here instead of stdout (- is stdout)")
    p = action("import", cmd_import, "import an official sanctions list file")
    p.add_argument("--format", required=True, choices=IMPORT_FORMATS)
    p.add_argument(
        "path",
        metavar="PATH",
        help="the list file, or - to read it from stdin (not for "
        f"{', '.join(MAIN_FILE_NAMES)}: their alt.csv beside the main file cannot come from "
        "stdin too)",
    )
    p.add_argument("--name", metavar="LIST", help="list name (default from the format)")
    p.add_argument(
        "--force",
        action="store_true",
        help="accept a file that de-lists more than max_delist_fraction (or 500) entries, "
        "shrinks the list by half, or is older than the stored list",
    )
    p.add_argument(
        "--no-announce",
        action="store_true",
        help="do not post newly designated and delisted entries to Slack (default channel)",
    )
    from sanctionwatch.cli.lists import add_list_commands

    add_list_commands(action)
    from sanctionwatch.cli.mutes import add_mute_commands

    add_mute_commands(action, local_actor)


def _need_sub(args: argparse.Namespace, out: TextIO) -> int:
    raise SanctionwatchError(
        "watchlist needs an action: add, remove, list, show, log, dump, import, refresh,"
        " mute, unmute or mutes",
        hint="python bot.py watchlist --help",
    )
