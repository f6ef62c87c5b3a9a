"""Operator commands: the ``feeds`` listing (per-feed health) and ``status`` (a monitoring
check)."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any, TextIO

from sanctionwatch.cli.common import print_json, settings_from_args
from sanctionwatch.cli.delivery import status_lines
from sanctionwatch.cli.lists import status_lines as list_status_lines
from sanctionwatch.clock import parse_iso, utcnow
from sanctionwatch.runtime import open_store
from sanctionwatch.storage.feedstore import active_feeds


def _ago(value: str | None, now: datetime) -> str:
    dt = parse_iso(value)
    if dt is None:
        return "never"
    secs = int((now - dt).total_seconds())
    sign = "ago" if secs >= 0 else "from now"
    secs = abs(secs)
    unit = (
        f"{secs // 86400}d"
        if secs >= 86400
        else f"{secs // 3600}h"
        if secs >= 3600
        else f"{secs // 60}m"
        if secs >= 60
        else f"{secs}s"
    )
    return f"{value} ({unit} {sign})"


def print_feeds(rows: list[dict[str, Any]], out: TextIO) -> None:
    """The ``feeds`` listing: one block per feed."""
    now = utcnow()
    for r in rows:
        if r.get("paused"):
            health = "PAUSED"
        else:
            health = (
                "GONE" if r.get("gone") else ("FAILING" if r.get("consecutive_failures") else "ok")
            )
        print(f"{r['name']}  [{health}]  {r['url']}", file=out)
        extra = f"  channel: {r['channel']}" if r.get("channel") else ""
        print(f"  from: {r['origin']}  every {r['interval_minutes']} min{extra}", file=out)
        status = r.get("last_status")
        print(f"  last fetch:   {_ago(r.get('last_fetch_at'), now)}  HTTP {status}", file=out)
        print(f"  last success: {_ago(r.get('last_success_at'), now)}", file=out)
        print(
            f"  last error:   {r.get('last_error') or '-'}"
            f"{' at ' + r['last_error_at'] if r.get('last_error') else ''}",
            file=out,
        )
        print(
            f"  failures in a row: {r.get('consecutive_failures') or 0}"
            f"  items seen: {r.get('items_seen') or 0}  alerts: {r.get('alerts') or 0}",
            file=out,
        )
        nxt = "never (gone)" if r.get("gone") else _ago(r.get("next_poll_at"), now)
        print(f"  next poll:    {nxt}", file=out)
    if not rows:
        print("No feeds configured.", file=out)


def status_report(store: Any) -> dict[str, Any]:
    """What ``status`` reports, as one JSON-ready dict (``status --json`` prints it)."""
    from sanctionwatch.alerting.digest import waiting as digest_waiting
    from sanctionwatch.alerting.mutecommands import mute_status
    from sanctionwatch.alerting.outbox import failed_alerts, failed_messages

    rows = store.feeds()
    failing = [r for r in rows if r["consecutive_failures"] or r["gone"]]
    failed = failed_alerts(store)
    messages = failed_messages(store)
    last = store.last_export()
    report: dict[str, Any] = {
        "feeds": {
            "total": len(rows),
            "healthy": len(rows) - len(failing),
            "failing": [
                {
                    "name": r["name"],
                    "failures": r["consecutive_failures"],
                    "gone": bool(r["gone"]),
                    "error": r["last_error"] or "",
                }
                for r in failing
            ],
        },
        "alerts": {
            "pending": store.count_pending(),
            "failed": [
                {"id": r["id"], "channel": r["channel"], "error": r["error_code"] or "error"}
                for r in failed
            ],
        },
        "messages_failed": [
            {"id": m["id"], "kind": m["kind"], "channel": m["channel"], "error": m["error_code"]}
            for m in messages
        ],
        "last_export": (
            {
                "created_at": last["created_at"],
                "path": last["path"],
                "rows": last["rows"],
                "uploaded_to": last["uploaded_to"],
            }
            if last
            else None
        ),
    }
    report["mutes"] = mute_status(store)  # active mutes: matches recorded, not posted
    # alerts waiting for their channel's digest: by design, not a problem (ok stays true)
    report["alerts"]["in_digest"] = digest_waiting(store)
    report["ok"] = not (failing or report["alerts"]["pending"] or failed or messages)
    return report


def cmd_status(args: argparse.Namespace, out: TextIO) -> int:
    """Exit 0 healthy, 1 when feeds fail, alerts wait or failed, or a configured list failed
    to refresh or is stale (monitoring checks use this)."""
    settings = settings_from_args(args)
    store = open_store(settings)
    store.sync_feeds((f.name, f.url) for f in active_feeds(settings.feeds, store.db))
    report = status_report(store)
    list_lines, lists_bad = list_status_lines(settings, store)
    report["lists"] = list_lines
    report["ok"] = report["ok"] and not lists_bad
    if args.json:
        print_json(report, out)
        return 0 if report["ok"] else 1
    failing = [f["name"] for f in report["feeds"]["failing"]]
    print(
        f"feeds: {report['feeds']['healthy']} healthy, {len(failing)} failing"
        + (f" ({', '.join(failing)})" if failing else ""),
        file=out,
    )
    print(f"alerts pending delivery: {report['alerts']['pending']}", file=out)
    digest = report["alerts"]["in_digest"]
    if digest["waiting"]:
        print(
            f"alerts waiting for a digest: {digest['waiting']} (next digest due"
            f" {digest['next_at']})",
            file=out,
        )
    failed_lines, _ = status_lines(store)
    for line in failed_lines:
        print(line, file=out)
    for line in list_lines:
        print(line, file=out)
    for m in report["mutes"]:
        why = f" — {m['reason']}" if m["reason"] else ""
        print(f"muted {m['kind']}: {m['target']} until {m['until']} by {m['by']}{why}", file=out)
    last = report["last_export"]
    print(
        "last export: "
        + (
            f"{last['created_at']} {last['path']} ({last['rows']} rows"
            f"{', uploaded to ' + last['uploaded_to'] if last['uploaded_to'] else ''})"
            if last
            else "never"
        ),
        file=out,
    )
    return 0 if report["ok"] else 1
