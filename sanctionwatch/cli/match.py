"""``match``: explain what the matcher and rules make of a text (or of JSON lines of texts):
the entries matched, on which words, with what score, which rules fired and why the others
did not."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from sanctionwatch.cli.common import settings_from_args
from sanctionwatch.config.settings import Settings
from sanctionwatch.errors import SanctionwatchError
from sanctionwatch.matching.engine import Engine
from sanctionwatch.matching.rules import explain
from sanctionwatch.models import Match
from sanctionwatch.runtime import warm_engine


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
    settings = settings_from_args(args)
    engine, keep_warm = warm_engine(settings)
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
        keep_warm()  # a batch warms the look-up caches: the next run starts with them
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
