"""Command line: ``python bot.py COMMAND``. Thin: parse arguments, call the library, print.

This is the only module that prints. Our errors become a message plus a hint on stderr and
their exit code (2 for bad config / watchlist / rule files); nothing else is caught here.
With ``--log-json`` (or ``log_json = true``) whatever this module says on stderr (errors,
the dry-run notice, the end-of-run summary) is a JSON log line like every other line there.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from sanctionwatch import __version__
from sanctionwatch.cli.backup import add_backup_command
from sanctionwatch.cli.common import parse_date, settings_from_args
from sanctionwatch.cli.ops import cmd_status
from sanctionwatch.config.settings import Settings
from sanctionwatch.errors import SanctionwatchError
from sanctionwatch.logfields import one_line
from sanctionwatch.logsetup import setup_logging, write_event
from sanctionwatch.matching.engine import Engine
from sanctionwatch.models import Match
from sanctionwatch.runtime import engine_getter, make_poster, open_store, read_only_engine
from sanctionwatch.slack.poster import Poster
from sanctionwatch.storage.db import Store
from sanctionwatch.storage.dbfile import preflight as check_database
from sanctionwatch.watchlists.refresh import check_list_configs

Handler = Callable[[argparse.Namespace, TextIO], int]


# ---- run -------------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace, out: TextIO) -> int:
    from sanctionwatch.alerting.jobs import run_forever
    from sanctionwatch.storage.lock import RunLock

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
    from sanctionwatch.alerting.jobs import once

    report = once(settings, store, engine_for, poster, all_feeds=all_feeds, stop=stop)
    failed = report.failed_feeds
    new_items = sum(f.new_items for f in report.feeds)
    alerts = sum(f.alerts for f in report.feeds)
    if write_event(
        __name__,
        logging.INFO,
        "run summary feeds=%d new_items=%d alerts_queued=%d delivered=%d pending=%d"
        " feeds_failed=%d failed=%s",
        len(report.feeds),
        new_items,
        alerts,
        report.delivered,
        report.pending,
        len(failed),
        [{"feed": f.name, "status": f.status, "error": f.error} for f in failed],
    ):
        return
    print(
        f"polled {len(report.feeds)} feeds: {new_items} new items, {alerts} alerts queued,"
        f" {report.delivered} delivered, {report.pending} pending, {len(failed)} feeds failed",
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
def _match_dict(m: Match) -> dict[str, Any]:
    return {
        "entity": m.entity,
        "watchlist": m.watchlist,
        "alias": m.alias,
        "text": m.text,
        "field": m.field,
        "start": m.start,
        "end": m.end,
        "score": round(m.score, 1),
        "entity_id": m.entity_id,
        "type": m.type,
        "detail": m.detail,
    }


def _match_one(engine: Engine, settings: Settings, title: str, text: str) -> dict[str, Any]:
    matches = engine.match(title, text)
    alerts = engine.evaluate(matches, settings.slack.default_channel) if matches else []
    return {
        "matches": [_match_dict(m) for m in matches],
        "alerts": [
            {
                "rule": a.rule,
                "severity": a.severity,
                "channel": a.channel,
                "explanation": a.explanation,
            }
            for a in alerts
        ],
    }


def cmd_match(args: argparse.Namespace, out: TextIO) -> int:
    from sanctionwatch.matching.rules import explain

    settings = settings_from_args(args)
    engine = read_only_engine(settings)
    source = sys.stdin if args.path in (None, "-") else None
    if source is None:
        try:
            data = Path(args.path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SanctionwatchError(f"cannot read {args.path}: {exc}") from exc
    else:
        data = source.read()
    if args.jsonl:
        for n, line in enumerate(data.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                if not isinstance(obj, dict):
                    raise ValueError("not an object")
            except ValueError as exc:
                raise SanctionwatchError(
                    f"line {n}: not a JSON object ({exc})",
                    hint='each line must look like {"id": "1", "title": "...", "text": "..."}',
                ) from exc
            result = _match_one(
                engine, settings, str(obj.get("title") or ""), str(obj.get("text") or "")
            )
            print(json.dumps({"id": obj.get("id"), **result}, ensure_ascii=False), file=out)
        return 0
    if args.json:
        print(
            json.dumps(_match_one(engine, settings, "", data), ensure_ascii=False, indent=2),
            file=out,
        )
        return 0
    matches = engine.match("", data)
    if not matches:
        print("No watchlist entry matched, so no rule can fire.", file=out)
    for m in matches:
        print(
            f"• {m.entity} [{m.watchlist}, {m.type}] matched {m.text!r} at {m.start}-{m.end}"
            f" via alias {m.alias!r}, score {m.score:.0f}\n    {m.detail}",
            file=out,
        )
    print("", file=out)
    outcomes = explain(engine.rules, matches, settings.slack.default_channel)
    for outcome in outcomes:
        mark = "FIRED" if outcome.fired else "quiet"
        print(f"[{mark}] rule {outcome.rule}: {outcome.reason}", file=out)
        for line in outcome.details:
            print(f"    {line}", file=out)
    fired = sum(o.fired for o in outcomes)
    print(f"\n{fired} rule(s) fired." if fired else "\nNo rule fired: no alert.", file=out)
    return 0


# ---- export / check --------------------------------------------------------------------
def cmd_export(args: argparse.Namespace, out: TextIO) -> int:
    from sanctionwatch.alerting.jobs import export_range

    settings = settings_from_args(args)
    store = open_store(settings)
    poster = make_poster(settings, out) if args.to_slack else None
    path, rows = export_range(
        settings,
        store,
        args.since,
        args.until,
        Path(args.out) if args.out else None,
        args.to_slack,
        poster,
    )
    print(
        f"wrote {rows} alerts to {path}"
        + (f", uploaded to {args.to_slack}" if args.to_slack else ""),
        file=out,
    )
    return 0


def cmd_check(args: argparse.Namespace, out: TextIO) -> int:
    from sanctionwatch.matching.rules import lint_rules, run_examples
    from sanctionwatch.slackapp.review import reviewers_summary

    settings = settings_from_args(args)
    # Everything `run` would die of on this config: the ranges and date arithmetic are
    # checked by load_settings, the database location here.
    check_database(settings.database)
    check_list_configs(settings)
    engine = read_only_engine(settings)
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
    warnings = lint_rules(engine.rules, engine.entries)
    for warning in warnings:
        print(f"  FAIL {warning}", file=out)
    failures = run_examples(engine.rules, engine.matcher, settings.slack.default_channel)
    total = sum(len(r.examples) for r in engine.rules)
    for failure in failures:
        print(f"  FAIL {failure}", file=out)
    print(f"rule examples: {total - len(failures)}/{total} pass", file=out)
    return 1 if failures or warnings else 0


# ---- parser ----------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bot.py", description="sanctionwatch: news-feed alerts for sanctions compliance"
    )
    parser.add_argument("--version", action="version", version=f"sanctionwatch {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument(
            "--config",
            metavar="PATH",
            help="TOML config file (default: "
            "$SANCTIONWATCH_CONFIG, else ./sanctionwatch.toml, else built-in demo)",
        )
        p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
        p.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
        p.add_argument("--log-json", action="store_true", help="log JSON lines to stderr")
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
    from sanctionwatch.cli.feeds import add_commands as add_feed_commands
    from sanctionwatch.cli.watchlist import _common

    add_feed_commands(command, _common)
    command(
        "status",
        cmd_status,
        "health summary; exit 1 when feeds fail, alerts wait, or alerts failed (named by"
        " channel and Slack error)",
    )
    p = command("export", cmd_export, "write the compliance CSV for a date range (UTC)")
    p.add_argument("--since", type=parse_date, required=True, help="YYYY-MM-DD, inclusive")
    p.add_argument("--until", type=parse_date, required=True, help="YYYY-MM-DD, exclusive")
    p.add_argument("--out", metavar="FILE", help="CSV path (default: exports folder)")
    p.add_argument("--to-slack", metavar="CHANNEL", help="also upload it to this channel")
    command("check", cmd_check, "validate config, watchlists and rules; run rule examples")
    add_backup_command(command)
    from sanctionwatch.cli.backtest import add_commands as add_backtest_commands

    add_backtest_commands(command)
    from sanctionwatch.cli.delivery import add_commands as add_delivery_commands

    add_delivery_commands(sub, command)
    # serve + watchlist group; importing it also registers the Slack-edit entry source,
    # the audit tables and the watchlist-changes CSV companion.
    from sanctionwatch.cli.watchlist import add_commands

    add_commands(sub, command)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    parser = build_parser()
    args = parser.parse_args(argv)
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
