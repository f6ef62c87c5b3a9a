"""Operator commands for delivery: ``alerts --failed`` (what Slack refused, and why) and
``deliver --retry-failed`` (send them again once the channel is fixed)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any, TextIO

from sanctionwatch.alerting.delivery import deliver_all
from sanctionwatch.alerting.outbox import (
    count_waiting,
    failed_alerts,
    failed_messages,
    requeue_failed,
)
from sanctionwatch.cli.common import settings_from_args
from sanctionwatch.runtime import make_poster, open_store
from sanctionwatch.storage.lock import RunLock

Handler = Callable[[argparse.Namespace, TextIO], int]
Command = Callable[[str, Handler, str], argparse.ArgumentParser]


def _alert_dict(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "channel": row["channel"],
        "rule": row["rule"],
        "error": row["error_code"] or "",
        "detail": row["last_error"] or "",
        "attempts": row["attempts"],
        "title": row["title"] or "",
        "link": row["link"] or "",
    }


def cmd_alerts(args: argparse.Namespace, out: TextIO) -> int:
    """``alerts --failed``: one line per failed alert (or JSON); exit 1 when there are any."""

    settings = settings_from_args(args)
    store = open_store(settings)
    if not args.failed:
        if args.json:
            waiting, failed = count_waiting(store), len(failed_alerts(store, args.channel))
            print(json.dumps({"waiting": waiting, "failed": failed}, indent=2), file=out)
            return 0
        print(
            f"alerts waiting for delivery: {count_waiting(store)};"
            f" failed: {len(failed_alerts(store))} (see `alerts --failed`)",
            file=out,
        )
        return 0
    rows = [_alert_dict(r) for r in failed_alerts(store, args.channel)]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2), file=out)
        return 1 if rows else 0
    for r in rows:
        print(
            f"#{r['id']}  {r['channel']}  {r['error']}  rule={r['rule']}  attempts={r['attempts']}"
            f"\n    {r['title']}\n    {r['link'] or '-'}",
            file=out,
        )
    messages = failed_messages(store)
    for m in messages:
        print(
            f"message #{m['id']} ({m['kind']})  {m['channel']}  {m['error_code'] or ''}",
            file=out,
        )
    if not rows and not messages:
        print("No failed alerts.", file=out)
    return 1 if rows or messages else 0


def cmd_deliver(args: argparse.Namespace, out: TextIO) -> int:
    """Deliver what is due now; ``--retry-failed`` first re-queues failed alerts/messages."""
    settings = settings_from_args(args)
    if args.channel and not args.retry_failed:
        print("--channel only goes with --retry-failed", file=sys.stderr)
        return 2
    with RunLock(settings.database):  # never beside a `run`: both would post the same alert
        return _deliver(args, settings, open_store(settings), make_poster(settings, out), out)


def _deliver(args: argparse.Namespace, settings: Any, store: Any, poster: Any, out: TextIO) -> int:
    if args.retry_failed:
        alerts, messages = requeue_failed(store, args.channel)
        print(
            f"re-queued {alerts} failed alert(s) and {messages} message(s)"
            + (f" for {args.channel}" if args.channel else ""),
            file=out,
        )
    report = deliver_all(store, poster, ops_channel=settings.slack.ops_channel)
    failed = failed_alerts(store, args.channel)
    print(
        f"delivered {report.delivered}, waiting {count_waiting(store)}, failed {len(failed)}"
        + (f" (stopped: {report.stopped})" if report.stopped else ""),
        file=out,
    )
    return 1 if failed or report.stopped else 0


def status_lines(store: Any) -> tuple[list[str], bool]:
    """Lines for ``status`` about failed deliveries, and whether there are any."""
    rows = failed_alerts(store)
    lines = [f"alerts failed delivery: {len(rows)}"]
    groups: dict[tuple[str, str], list[int]] = {}
    for r in rows:
        groups.setdefault((r["channel"], r["error_code"] or "error"), []).append(int(r["id"]))
    for (channel, error), ids in sorted(groups.items()):
        shown = ", ".join(f"#{i}" for i in ids[:10]) + (" …" if len(ids) > 10 else "")
        lines.append(f"  {channel}: {error} ({len(ids)} alert(s): {shown})")
    messages = failed_messages(store)
    for m in messages:
        lines.append(
            f"  message #{m['id']} ({m['kind']}) to {m['channel']}: {m['error_code'] or 'error'}"
        )
    if rows or messages:
        lines.append(
            "  see `alerts --failed`; after fixing: `deliver --retry-failed [--channel C]`"
        )
    return lines, bool(rows or messages)


def add_commands(sub: Any, command: Command) -> None:
    p = command(
        "alerts",
        cmd_alerts,
        "alerts that could not be delivered: with --failed, each failed alert with its channel,"
        " rule, Slack error, attempts, title and link; exit 1 when there are any",
    )
    p.add_argument("--failed", action="store_true", help="list the failed alerts")
    p.add_argument(
        "--json",
        action="store_true",
        help="one JSON document: the failed alerts (with --failed), else the counts",
    )
    p.add_argument("--channel", metavar="C", help="only this channel (#name or id)")
    p = command(
        "deliver",
        cmd_deliver,
        "deliver queued alerts and messages now; --retry-failed re-queues failed ones first"
        " (after you fixed the channel: invited the bot, unarchived it, fixed the token)",
    )
    p.add_argument(
        "--retry-failed", action="store_true", help="re-queue failed alerts and messages"
    )
    p.add_argument("--channel", metavar="C", help="with --retry-failed: only this channel")
