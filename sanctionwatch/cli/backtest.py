"""``backtest``: what today's watchlists and rules would alert on among the stored items."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Callable
from typing import Any, TextIO

from sanctionwatch.cli.common import parse_date, settings_from_args
from sanctionwatch.cli.progress import Progress
from sanctionwatch.errors import SanctionwatchError
from sanctionwatch.runtime import open_store, warm_engine


def cmd_backtest(args: argparse.Namespace, out: TextIO) -> int:
    from sanctionwatch.alerting.backtest import NEW, backtest, count_items

    settings = settings_from_args(args)
    engine, keep_warm = warm_engine(settings)
    if args.rule and args.rule not in {r.name for r in engine.rules}:
        known = ", ".join(sorted(r.name for r in engine.rules))
        raise SanctionwatchError(
            f"no rule named {args.rule!r} in {settings.rules}", hint=f"rules: {known}"
        )
    store = open_store(settings)
    total = count_items(store, args.since, args.until)
    progress = Progress("backtest", total, unit="items")
    counts: Counter[str] = Counter()
    for row in backtest(
        store,
        engine,
        settings.slack.default_channel,
        rule=args.rule,
        since=args.since,
        until=args.until,
        progress=progress.counter() if progress.enabled else None,
    ):
        counts[row.change] += 1
        if args.json:
            print(json.dumps(row.as_dict(), ensure_ascii=False), file=out)
        elif row.change != "same" or args.all:
            print(f"{row.change.upper():5} {row.rule}  {row.title}  {row.link or '-'}", file=out)
    progress.finish()
    keep_warm()
    if not args.json:
        print(
            f"{total} items: {counts[NEW]} new, {counts['gone']} gone, {counts['same']} same"
            " (new: would alert now, did not then; gone: alerted then, would not now)",
            file=out,
        )
    return 0


def add_commands(command: Callable[..., Any]) -> None:
    p = command(
        "backtest",
        cmd_backtest,
        "re-run today's watchlists and rules over the stored items: what would alert now"
        " against what alerted then (new, gone, same)",
    )
    p.add_argument("--rule", metavar="NAME", help="only this rule")
    p.add_argument("--since", type=parse_date, help="YYYY-MM-DD (UTC, first seen), inclusive")
    p.add_argument("--until", type=parse_date, help="YYYY-MM-DD (UTC, first seen), exclusive")
    p.add_argument("--json", action="store_true", help="one JSON object a line")
    p.add_argument("--all", action="store_true", help="also list unchanged (same) alerts")
