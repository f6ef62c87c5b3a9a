"""Command line: ``python bot.py COMMAND``. Thin: parse arguments, call the library, print.

This is the only module that prints. Our errors become a message plus a hint on stderr and
their exit code (2 for bad config / watchlist / rule files); nothing else is caught here.
With ``--log-json`` (or ``log_json = true``) whatever this module says on stderr (errors,
the dry-run notice, the end-of-run summary) is a JSON log line like every other line there.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from sanctionwatch import __version__
from sanctionwatch.alerting.exports import export_range, export_to_stream, is_dry_run
from sanctionwatch.alerting.jobs import once, run_forever
from sanctionwatch.cli.backtest import add_commands as add_backtest_commands
from sanctionwatch.cli.backup import add_backup_command
from sanctionwatch.cli.common import (
    STDIO,
    add_global_options,
    fill_global_defaults,
    parse_date,
    print_json,
    settings_from_args,
)
from sanctionwatch.cli.delivery import add_commands as add_delivery_commands
from sanctionwatch.cli.feeds import add_commands as add_feed_commands
from sanctionwatch.cli.lemmas import add_lemmas_command
from sanctionwatch.cli.match import cmd_match
from sanctionwatch.cli.ops import cmd_status
from sanctionwatch.cli.progress import Progress
from sanctionwatch.cli.story import add_story_command
from sanctionwatch.cli.watchlist import add_commands as add_watchlist_commands
from sanctionwatch.config.settings import Settings
from sanctionwatch.errors import SanctionwatchError
from sanctionwatch.logfields import one_line
from sanctionwatch.logsetup import setup_logging, write_event
from sanctionwatch.matching.engine import Engine
from sanctionwatch.matching.rules import lint_rules, run_examples
from sanctionwatch.runtime import engine_getter, make_poster, open_store, read_only_engine
from sanctionwatch.slack.poster import Poster
from sanctionwatch.slackapp.review import reviewers_summary
from sanctionwatch.storage.db import Store
from sanctionwatch.storage.dbfile import preflight as check_database
from sanctionwatch.storage.lock import RunLock
from sanctionwatch.watchlists.refresh import check_list_configs

Handler = Callable[[argparse.Namespace, TextIO], int]


# ---- run -------------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace, out: TextIO) -> int:
    settings = settings_from_args(args)
    check_database(settings.database)
    with RunLock(settings.database):
        store = open_store(settings)
        store.quick_check()  # a damaged page fails here, before any feed is polled
        engine_for = engine_getter(settings, store)
        engine_for()  # validate watchlists and rules before touching any feed
        check_list_configs(settings)
        poster = make_poster(settings, out)
        if settings.slack.dry_run and not write_event(
            __name__, logging.WARNING, "dry run: no SLACK_BOT_TOKEN set, alerts go to stdout"
        ):
            print("dry run: no SLACK_BOT_TOKEN set, alerts are printed here", file=sys.stderr)
        stop = threading.Event()
        previous = _on_signals(stop)
        try:
            if args.once:
                _run_once(settings, store, engine_for, poster, args.all_feeds, stop)
            else:
                run_forever(settings, store, engine_for, poster, stop)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if stop.is_set():
            _leave_now(store)
    return 0


def _run_once(
    settings: Settings,
    store: Store,
    engine_for: Callable[[], Engine],
    poster: Poster,
    all_feeds: bool,
    stop: threading.Event,
) -> None:
    report = once(settings, store, engine_for, poster, all_feeds=all_feeds, stop=stop)
    failed = report.failed_feeds
    new_items = sum(f.new_items for f in report.feeds)
    alerts = sum(f.alerts for f in report.feeds)
    held_back = sum(f.held_back for f in report.feeds)
    if write_event(
        __name__,
        logging.INFO,
        "run summary feeds=%d new_items=%d alerts_queued=%d delivered=%d pending=%d"
        " feeds_failed=%d held_back=%d failed=%s",
        len(report.feeds),
        new_items,
        alerts,
        report.delivered,
        report.pending,
        len(failed),
        held_back,
        [{"feed": f.name, "status": f.status, "error": f.error} for f in failed],
    ):
        return
    print(
        f"polled {len(report.feeds)} feeds: {new_items} new items, {alerts} alerts queued,"
        f" {report.delivered} delivered, {report.pending} pending, {len(failed)} feeds failed",
        file=sys.stderr,
    )
    for f in report.feeds:  # a first poll's "0 alerts" may hide matches older than backfill
        if f.held_back:
            print(
                f"  feed {f.name!r}: first poll; backfill held back {f.held_back} matching"
                f" item(s) older than backfill_days (recorded as seen, not alerted)",
                file=sys.stderr,
            )
    for f in failed:  # one line each, whatever a feed server put into the error
        print(f"  feed {f.name!r}: {one_line(f.error or '')}", file=sys.stderr)


def _leave_now(store: Store) -> None:
    """After SIGTERM/SIGINT: every transaction is committed or rolled back, so exit now
    rather than wait at interpreter exit for a fetch thread stuck in a TCP connect (up to
    connect_timeout_s). Unfinished feeds stay due and pending alerts stay queued."""
    logging.getLogger(__name__).info("stopped by signal; exiting")
    store.close()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _on_signals(stop: threading.Event) -> dict[int, Any]:
    """SIGTERM/SIGINT set ``stop``; a second one exits at once. Returns the old handlers."""

    def handler(signum: int, _frame: object) -> None:
        if stop.is_set():  # a second signal: leave now
            os._exit(128 + signum)
        stop.set()

    previous: dict[int, Any] = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous[sig] = signal.getsignal(sig)
        signal.signal(sig, handler)
    return previous


# ---- match -----------------------------------------------------------------------------
def cmd_export(args: argparse.Namespace, out: TextIO) -> int:
    settings = settings_from_args(args)
    store = open_store(settings)
    if args.out == STDIO:
        if args.to_slack:
            raise SanctionwatchError(
                "--out - writes the CSV to stdout; --to-slack needs a file to upload",
                hint="give --out a path (or leave it out) to upload",
            )
        with Progress("export", unit="alerts") as progress:
            rows = export_to_stream(store, args.since, args.until, out, progress.of_total())
        print(f"wrote {rows} alerts to stdout", file=sys.stderr)
        return 0
    poster = make_poster(settings, out) if args.to_slack else None
    with Progress("export", unit="alerts") as progress:
        path, rows = export_range(
            settings,
            store,
            args.since,
            args.until,
            Path(args.out) if args.out else None,
            args.to_slack,
            poster,
            progress=progress.of_total(),
        )
    if not args.to_slack:
        uploaded = ""
    elif is_dry_run(poster):
        uploaded = f"; dry run (no SLACK_BOT_TOKEN): not uploaded to {args.to_slack}"
    else:
        uploaded = f", uploaded to {args.to_slack}"
    print(f"wrote {rows} alerts to {path}{uploaded}", file=out)
    return 0


def cmd_check(args: argparse.Namespace, out: TextIO) -> int:
    settings = settings_from_args(args)
    # Everything `run` would die of on this config: the ranges and date arithmetic are
    # checked by load_settings, the database location here.
    check_database(settings.database)
    check_list_configs(settings)
    engine = read_only_engine(settings)
    warnings = lint_rules(engine.rules, engine.entries)
    failures = run_examples(engine.rules, engine.matcher, settings.slack.default_channel)
    total = sum(len(r.examples) for r in engine.rules)
    code = 1 if failures or warnings else 0
    if args.json:
        print_json(
            {
                "ok": code == 0,
                "config": str(settings.config_path) if settings.config_path else None,
                "feeds": len(settings.feeds),
                "watchlists": {
                    "folder": str(settings.watchlists),
                    "entries": len(engine.entries),
                    "names": len(engine.matcher),
                },
                "rules": {"folder": str(settings.rules), "rules": len(engine.rules)},
                "reviewers": list(settings.slack.reviewers),
                "lint": [str(w) for w in warnings],
                "examples": {
                    "total": total,
                    "passed": total - len(failures),
                    "failures": [str(f) for f in failures],
                },
            },
            out,
        )
        return code
    print(
        f"config: {settings.config_path or 'built-in defaults'} ok ({len(settings.feeds)} feeds)",
        file=out,
    )
    print(
        f"watchlists: {settings.watchlists} ok ({len(engine.entries)} entries,"
        f" {len(engine.matcher)} names)",
        file=out,
    )
    print(f"rules: {settings.rules} ok ({len(engine.rules)} rules)", file=out)
    print(reviewers_summary(settings.slack.reviewers), file=out)
    for warning in warnings:
        print(f"  FAIL {warning}", file=out)
    for failure in failures:
        print(f"  FAIL {failure}", file=out)
    print(f"rule examples: {total - len(failures)}/{total} pass", file=out)
    return code


# ---- parser ----------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bot.py", description="sanctionwatch: news-feed alerts for sanctions compliance"
    )
    parser.add_argument("--version", action="version", version=f"sanctionwatch {__version__}")
    add_global_options(parser)  # also accepted after the sub-command name
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        add_global_options(p)
        p.set_defaults(handler=handler)
        return p

    p = command("run", cmd_run, "poll due feeds, match, record, alert; forever or --once")
    p.add_argument("--once", action="store_true", help="one pass, then exit")
    p.add_argument("--all-feeds", action="store_true", help="poll every feed now, due or not")
    p = command("match", cmd_match, "explain what the matcher and rules make of a text")
    p.add_argument("path", nargs="?", metavar="PATH | -", help="text file, or - for stdin")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="one JSON object")
    fmt.add_argument(
        "--jsonl",
        action="store_true",
        help='read {"id","title","text"} lines, print one result a line',
    )
    add_feed_commands(command, add_global_options)
    p = command(
        "status",
        cmd_status,
        "health summary; exit 1 when feeds fail, alerts wait, or alerts failed (named by"
        " channel and Slack error)",
    )
    p.add_argument("--json", action="store_true", help="one JSON document")
    p = command("export", cmd_export, "write the compliance CSV for a date range (UTC)")
    p.add_argument("--since", type=parse_date, required=True, help="YYYY-MM-DD, inclusive")
    p.add_argument("--until", type=parse_date, required=True, help="YYYY-MM-DD, exclusive")
    p.add_argument(
        "--out", metavar="FILE", help="CSV path, or - for stdout (default: exports folder)"
    )
    p.add_argument("--to-slack", metavar="CHANNEL", help="also upload it to this channel")
    p = command("check", cmd_check, "validate config, watchlists and rules; run rule examples")
    p.add_argument("--json", action="store_true", help="one JSON document")
    add_backup_command(command)
    add_story_command(command)
    add_lemmas_command(command)
    add_backtest_commands(command)
    add_delivery_commands(sub, command)
    add_watchlist_commands(sub, command)  # serve and the watchlist group
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    parser = build_parser()
    args = fill_global_defaults(parser.parse_args(argv))
    if getattr(args, "log_json", False):  # JSON from the first line, even a config error
        setup_logging("WARNING", json_mode=True)
    try:
        code: int = args.handler(args, out)
        return code
    except SanctionwatchError as exc:
        if write_event(
            __name__,
            logging.ERROR,
            "command failed error=%s hint=%s exit_code=%d",
            exc.message,
            exc.hint,
            exc.exit_code,
        ):
            return exc.exit_code
        print(f"error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `bot.py match ... | head`: the reader left, nothing to report
        return 0
