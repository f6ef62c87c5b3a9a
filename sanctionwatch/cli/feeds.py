"""``feeds``: the feed list (no verb or ``list``), and ``add|remove|pause|resume``,
``import-opml FILE`` and ``export-opml [--out FILE|-]``, audited as the local user."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from sanctionwatch.cli.common import settings_from_args
from sanctionwatch.errors import SanctionwatchError
from sanctionwatch.runtime import open_store
from sanctionwatch.storage.audit import Actor


def _actor() -> Actor:
    user = getpass.getuser()
    return Actor(user, user, "cli")


def _setup(args: argparse.Namespace) -> tuple[Any, Any]:
    settings = settings_from_args(args)
    return settings, open_store(settings)


def cmd_list(args: argparse.Namespace, out: TextIO) -> int:
    from sanctionwatch.alerting.feedadmin import listing
    from sanctionwatch.cli.ops import print_feeds
    from sanctionwatch.storage.feedstore import active_feeds

    settings, store = _setup(args)
    store.sync_feeds((f.name, f.url) for f in active_feeds(settings.feeds, store.db))
    rows = listing(settings, store)
    if getattr(args, "json", False):
        print(json.dumps(rows, ensure_ascii=False, indent=2), file=out)
        return 0
    print_feeds(rows, out)
    return 0


def cmd_add(args: argparse.Namespace, out: TextIO) -> int:
    from sanctionwatch.alerting.feedadmin import add

    settings, store = _setup(args)
    line = add(
        settings,
        store,
        args.name,
        args.url,
        _actor(),
        channel=args.channel,
        interval_minutes=args.interval_minutes,
        local_ok=True,
        check=not args.no_check,
    )
    print(line, file=out)
    return 0


def cmd_remove(args: argparse.Namespace, out: TextIO) -> int:
    from sanctionwatch.alerting.feedadmin import remove

    settings, store = _setup(args)
    print(remove(settings, store, args.name, _actor()), file=out)
    return 0


def cmd_pause(args: argparse.Namespace, out: TextIO) -> int:
    from sanctionwatch.alerting.feedadmin import pause

    settings, store = _setup(args)
    paused = args.feeds_command == "pause"
    print(pause(settings, store, args.name, _actor(), paused), file=out)
    return 0


def cmd_import_opml(args: argparse.Namespace, out: TextIO) -> int:
    from sanctionwatch.alerting.feedadmin import import_opml

    settings, store = _setup(args)
    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SanctionwatchError(f"cannot read {path}: {exc.strerror or exc}") from exc
    result = import_opml(settings, store, data, str(path), _actor(), check=not args.no_check)
    print(f"added {len(result.added)} feed(s), skipped {len(result.skipped)}", file=out)
    for name in result.added:
        print(f"  added {name}", file=out)
    for line in result.skipped:
        print(f"  skipped {line}", file=out)
    return 0


def cmd_export_opml(args: argparse.Namespace, out: TextIO) -> int:
    from sanctionwatch.alerting.feedadmin import export_opml

    settings, store = _setup(args)
    text = export_opml(settings, store)
    if args.out in (None, "-"):
        out.write(text)
    else:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


def add_commands(
    command: Callable[..., argparse.ArgumentParser], common: Callable[..., None]
) -> None:
    p = command(
        "feeds",
        cmd_list,
        "each feed: origin, paused, channel, last fetch, status, last error, next poll; "
        "add|remove|pause|resume|import-opml|export-opml",
    )
    p.add_argument("--json", action="store_true", help="machine-readable")
    fsub = p.add_subparsers(dest="feeds_command", metavar="ACTION")

    def action(name: str, handler: Callable[..., int], help_text: str) -> argparse.ArgumentParser:
        a = fsub.add_parser(name, help=help_text, description=help_text)
        common(a)
        a.set_defaults(handler=handler)
        return a

    a = action("list", cmd_list, "the feeds (as with no action)")
    a.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    a = action("add", cmd_add, "add a feed after fetching it once (audited)")
    a.add_argument("name")
    a.add_argument("url", help="http(s) URL or a local file path")
    a.add_argument("--channel", help="alerts from this feed go here unless the rule names one")
    a.add_argument("--interval-minutes", type=int, metavar="N", help="poll every N minutes")
    a.add_argument("--no-check", action="store_true", help="do not fetch it first")
    a = action("remove", cmd_remove, "remove a feed added with 'feeds add' (TOML feeds: pause)")
    a.add_argument("name")
    for verb in ("pause", "resume"):
        a = action(verb, cmd_pause, f"{verb} polling a feed (TOML feeds too)")
        a.add_argument("name")
    a = action("import-opml", cmd_import_opml, "add every feed of an OPML file")
    a.add_argument("file", metavar="FILE")
    a.add_argument("--no-check", action="store_true", help="do not fetch each feed first")
    a = action("export-opml", cmd_export_opml, "write every feed as OPML")
    a.add_argument("--out", metavar="FILE", help="file, or - for stdout (default)")
