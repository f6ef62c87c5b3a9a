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
from typing import Any, TextIO

from sanctionwatch.cli.common import parse_date, settings_from_args
from sanctionwatch.errors import SanctionwatchError
from sanctionwatch.runtime import make_poster, open_store
from sanctionwatch.slackapp import commands as slash  # noqa: F401 - registers tables, entry source, CSV companion
from sanctionwatch.slackapp.commands import CommandContext
from sanctionwatch.storage.audit import Actor, audit_rows
from sanctionwatch.watchlists import overlay
from sanctionwatch.watchlists.importers import FORMATS as IMPORT_FORMATS
from sanctionwatch.watchlists.overlay import (
    add_entry,
    baseline_entries,
    overlay_entries,
    remove_entry,
)


def _setup(args: argparse.Namespace) -> Any:

    return settings_from_args(args)


def _store(settings: Any) -> Any:

    return open_store(settings)


def local_actor() -> Actor:
    user = getpass.getuser()
    return Actor(user, user, "cli")


def _plain(mrkdwn: str) -> str:
    """Slack reply text for a terminal: drop emphasis marks and entities."""
    text = mrkdwn.replace("*", "").replace("`", "")
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


# ---- handlers ----------------------------------------------------------------------------
def cmd_serve(args: argparse.Namespace, out: TextIO) -> int:
    from sanctionwatch.slackapp.server import serve

    settings = _setup(args)
    return serve(
        settings,
        out,
        host=args.host,
        port=args.port,
        socket_mode=args.socket_mode,
        poll=not args.no_poll,
    )


def cmd_add(args: argparse.Namespace, out: TextIO) -> int:
    settings = _setup(args)
    store = _store(settings)
    result = add_entry(
        store,
        baseline_entries(settings.watchlists, store.db),
        local_actor(),
        args.list,
        args.name,
        args.alias or (),
        etype=args.type,
        tags=args.tags.split(",") if args.tags is not None else None,
    )
    e = result.entry
    new = " (new list)" if result.created_list else ""
    print(f"added {e.name!r} to {e.list}{new} as {e.type}; id {e.id}", file=out)
    print(f"  aliases: {', '.join(e.aliases) or '-'}   tags: {', '.join(e.tags) or '-'}", file=out)
    return 0


def cmd_remove(args: argparse.Namespace, out: TextIO) -> int:
    settings = _setup(args)
    store = _store(settings)
    entry = remove_entry(
        store, baseline_entries(settings.watchlists, store.db), local_actor(), args.list, args.name
    )
    print(f"removed {entry.name!r} from {entry.list}", file=out)
    return 0


def _context(settings: Any) -> CommandContext:
    store = _store(settings)
    return CommandContext(
        store, lambda s: baseline_entries(settings.watchlists, s.db), settings.slack.admins
    )


def cmd_list(args: argparse.Namespace, out: TextIO) -> int:
    settings = _setup(args)
    print(_plain(cmd_list_text(_context(settings), args.list or "")), file=out)
    return 0


def cmd_list_text(ctx: CommandContext, list_name: str) -> str:
    from sanctionwatch.watchlists.overlay import EditError

    try:
        return slash.cmd_list(ctx, list_name)
    except EditError as exc:
        raise SanctionwatchError(_plain(exc.message)) from exc


def cmd_show(args: argparse.Namespace, out: TextIO) -> int:
    settings = _setup(args)
    print(_plain(slash.cmd_show(_context(settings), " ".join(args.name))), file=out)
    return 0


def cmd_log(args: argparse.Namespace, out: TextIO) -> int:
    from sanctionwatch.watchlists.importaudit import LIST_IMPORT_ACTIONS, decoded, describe

    settings = _setup(args)
    store = _store(settings)
    actions = None if args.all else (*overlay.WATCHLIST_ACTIONS, *LIST_IMPORT_ACTIONS)
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
    from sanctionwatch.watchlists.files import dump_watchlist

    settings = _setup(args)
    store = _store(settings)
    name = args.list.lower()
    entries = [e for e in baseline_entries(settings.watchlists, store.db) if e.list == name]
    entries += overlay_entries(store.db, name)
    if not entries:
        raise SanctionwatchError(
            f"there is no list {name!r}", hint="`python bot.py watchlist list` shows the lists"
        )
    text = dump_watchlist(entries, name)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {len(entries)} entries of {name} to {args.out}", file=out)
    else:
        out.write(text)
    return 0


def _shown(names: list[str], limit: int = 10) -> str:
    return "; ".join(names[:limit]) + (" …" if len(names) > limit else "")


def cmd_import(args: argparse.Namespace, out: TextIO) -> int:
    from sanctionwatch.watchlists.imported import import_list

    settings = _setup(args)
    store = _store(settings)
    report = import_list(
        store.db,
        args.format,
        Path(args.path),
        args.name,
        force=args.force,
        max_delist_fraction=settings.max_delist_fraction,
        actor=local_actor(),
    )
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
        from sanctionwatch.alerting.designations import announce

        channel = settings.slack.default_channel
        if announce(report, make_poster(settings, out), channel, first_import, store):
            print(
                f"announced {len(report.added)} new designation(s) and "
                f"{len(report.removed)} delisting(s) to {channel}",
                file=out,
            )
    return 0


# ---- parser ------------------------------------------------------------------------------
def _common(p: argparse.ArgumentParser) -> None:
    """--config/-v/-q/--log-json on a nested sub-command (SUPPRESS: never overrides a value
    given before the sub-command name)."""
    p.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help="TOML config")
    p.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS)
    p.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS)
    p.add_argument("--log-json", action="store_true", default=argparse.SUPPRESS)


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
        _common(p)
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
    p = action("show", cmd_show, "which lists hold a name, its aliases and source")
    p.add_argument("name", nargs="+")
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
    p.add_argument("--out", metavar="FILE", help="write here instead of stdout")
    p = action("import", cmd_import, "import an official sanctions list file")
    p.add_argument("--format", required=True, choices=IMPORT_FORMATS)
    p.add_argument("path", metavar="PATH")
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


def _need_sub(args: argparse.Namespace, out: TextIO) -> int:
    raise SanctionwatchError(
        "watchlist needs an action: add, remove, list, show, log, dump, import or refresh",
        hint="python bot.py watchlist --help",
    )
