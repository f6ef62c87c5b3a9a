"""Quality benchmark: how well the default watchlists and rules do on labelled real news.

    python bench/quality.py                     # the shared dev set (items + name cases)
    python bench/quality.py FILE.jsonl ...      # other labelled files, same formats
    python bench/quality.py --json              # one JSON document with every figure
    python bench/quality.py --min-f1 0.6 --min-name-recall 0.8   # exit 1 below these

Two kinds of lines, one JSON object each (a file may hold both):

* items ``{"id", "label": "alert"|"quiet", "lang", "title", "text"}``: an item alerts when
  at least one rule fires on the matches of its title and text, exactly as ``bot.py match
  --jsonl`` decides. Prints precision, recall and F1 overall and per language, then every
  miss (with the matched entities and the rules that came closest, and why they stayed
  quiet) and every false alert (with the rules that fired and on which words).
* name cases ``{"id", "text", "expect": [{"span", "entity"}]}`` or ``{..., "forbid":
  [{"span", "not"}]}``: an expected span counts as found when a match overlapping its first
  occurrence has that canonical entity name (case-insensitive); a forbidden span is a trap
  taken when a match overlapping it is the ``not`` entity.

It is a measurement: exit 0 whatever the figures, unless ``--min-f1`` / ``--min-name-recall``
are given and not met (exit 1). Bad input (a missing file, a line that is not valid JSON or
lacks a key) exits 2 with a message naming the file and line. Output is deterministic.

By default the engine holds the repository's file watchlists and rules only (the built-in
configuration, whatever ``$SANCTIONWATCH_CONFIG`` or ``./sanctionwatch.toml`` say), so the
figures are those of the shipped defaults. ``--config PATH`` uses that config's watchlists
and rules; ``--with-lists`` also loads the lists already imported into its database and the
Slack edits (as ``bot.py match`` does); it imports nothing itself.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.quality_data import BenchInputError, LabelledItem, NameCase, read_cases  # noqa: E402
from bench.quality_score import score_items, score_names  # noqa: E402
from sanctionwatch.config.settings import load_settings  # noqa: E402
from sanctionwatch.errors import SanctionwatchError  # noqa: E402
from sanctionwatch.matching.engine import Engine  # noqa: E402
from sanctionwatch.runtime import build_engine, open_store  # noqa: E402

DEV_FILE_NAMES = ("dev.jsonl", "dev_names.jsonl")
# The shared data sit beside the repository (../shared); on the development machine also here.
DATA_DIRS = (ROOT.parent / "shared" / "data" / "news-eval", Path("/work/shared/data/news-eval"))
TITLE_CHARS = 80  # titles are cut to this many characters in the listings


def default_files() -> list[Path]:
    """The shared dev set: the first data folder that has it (else the first, for the error)."""
    for folder in DATA_DIRS:
        if (folder / DEV_FILE_NAMES[0]).is_file():
            return [folder / name for name in DEV_FILE_NAMES]
    return [DATA_DIRS[0] / name for name in DEV_FILE_NAMES]


def make_engine(config: str | None, with_lists: bool) -> tuple[Engine, str, dict[str, Any]]:
    """The engine, the default channel, and a description of what it was built from."""
    if config:
        settings = load_settings(config)
    else:  # built-in defaults: ignore the caller's environment and working directory
        settings = load_settings(None, env={}, cwd=Path(__file__).resolve().parent)
    db = None
    if with_lists and settings.database.exists():
        db = open_store(settings).db
    engine = build_engine(settings.watchlists, settings.rules, db)
    about = {
        "config": str(settings.config_path) if settings.config_path else "built-in defaults",
        "watchlists": str(settings.watchlists),
        "rules": str(settings.rules),
        "database": str(settings.database) if db is not None else None,
        "entries": len(engine.entries),
        "names": len(engine.matcher),
        "rule_count": len(engine.rules),
    }
    return engine, settings.slack.default_channel, about


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _cut(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= TITLE_CHARS else text[: TITLE_CHARS - 1] + "…"


def _found(found: list[dict[str, Any]]) -> str:
    if not found:
        return "nothing"
    return ", ".join(f"{f['text']!r} as {f['entity']} (score {f['score']:g})" for f in found)


def render_items(rep: dict[str, Any], out: TextIO) -> None:
    o = rep["overall"]
    out.write(
        f"\nItems: {o['n']} ({o['tp'] + o['fn']} alert, {o['fp'] + o['tn']} quiet)"
        f"  precision {_fmt(o['precision'])}  recall {_fmt(o['recall'])}  F1 {_fmt(o['f1'])}\n"
    )
    out.write(f"{'lang':<6}{'n':>4}{'tp':>4}{'fp':>4}{'fn':>4}{'tn':>4}{'P':>7}{'R':>7}{'F1':>7}\n")
    rows = [*rep["by_lang"].items(), ("all", o)]
    for lang, c in rows:
        out.write(
            f"{lang:<6}{c['n']:>4}{c['tp']:>4}{c['fp']:>4}{c['fn']:>4}{c['tn']:>4}"
            f"{_fmt(c['precision']):>7}{_fmt(c['recall']):>7}{_fmt(c['f1']):>7}\n"
        )
    out.write(f"\nMisses (alert items on which no rule fired): {len(rep['misses'])}\n")
    for miss in rep["misses"]:
        out.write(f"- {miss['id']} [{miss['lang']}] {_cut(miss['title'])}\n")
        ents = [f"{e['entity']} ({e['text']!r}, {e['score']:g})" for e in miss["matched"]]
        out.write(f"    matched: {'; '.join(ents) if ents else 'nothing'}\n")
        if not miss["closest_rules"]:
            out.write("    no rule had any clause met\n")
        for r in miss["closest_rules"]:
            out.write(f"    rule {r['rule']}: {r['reason']}\n")
    out.write(f"\nFalse alerts (quiet items on which a rule fired): {len(rep['false_alerts'])}\n")
    for fa in rep["false_alerts"]:
        out.write(f"- {fa['id']} [{fa['lang']}] {_cut(fa['title'])}\n")
        for r in fa["fired"]:
            words = ", ".join(f"{w['text']!r} ({w['entity']}, {w['field']})" for w in r["words"])
            out.write(f"    fired {r['rule']} on {words}\n")


def render_names(rep: dict[str, Any], out: TextIO) -> None:
    recall = _fmt(rep["recall"])
    out.write(
        f"\nNames: recall {rep['found']}/{rep['expected']} ({recall});"
        f" {rep['weak']} of the found only below the rules' default min_score"
        f" {rep['min_score']:g}; traps taken {rep['traps_taken']}/{rep['forbidden']}\n"
    )
    out.write(f"Missed names: {len(rep['missed'])}\n")
    for m in rep["missed"]:
        out.write(
            f"- {m['id']}: {m['span']!r} as {m['entity']}; found there: {_found(m['found'])}\n"
        )
    if rep["weak_found"]:
        out.write(f"Found only below min_score {rep['min_score']:g}: {len(rep['weak_found'])}\n")
        for m in rep["weak_found"]:
            out.write(f"- {m['id']}: {m['span']!r} as {m['entity']}: {_found(m['found'])}\n")
    out.write(f"Traps taken: {len(rep['traps'])}\n")
    for t in rep["traps"]:
        out.write(f"- {t['id']}: {t['span']!r} taken for {t['not']}: {_found(t['found'])}\n")


def gate(report: dict[str, Any], min_f1: float | None, min_recall: float | None) -> list[str]:
    """Failure messages for the thresholds given (none given: never fails)."""
    failures = []
    checks = (
        ("--min-f1", min_f1, "item F1", report.get("items"), "f1"),
        ("--min-name-recall", min_recall, "name recall", report.get("names"), "recall"),
    )
    for flag, wanted, what, part, key in checks:
        if wanted is None:
            continue
        if part is None:
            failures.append(f"{flag} {wanted:g}: no {what} (no such cases in the files)")
            continue
        value = part["overall"][key] if key == "f1" else part[key]
        if value is None or value < wanted:
            failures.append(f"{flag} {wanted:g} not met: {what} is {_fmt(value)}")
    return failures


def run(args: argparse.Namespace, out: TextIO) -> int:
    files = [Path(f) for f in args.files] or default_files()
    items: list[LabelledItem] = []
    names: list[NameCase] = []
    for path in files:
        got_items, got_names = read_cases(path)
        items.extend(got_items)
        names.extend(got_names)
    _check_unique(items, names)
    engine, channel, about = make_engine(args.config, args.with_lists)
    report: dict[str, Any] = {
        "engine": about,
        "files": [str(p) for p in files],
        "items": score_items(engine, channel, items) if items else None,
        "names": score_names(engine, names) if names else None,
    }
    failures = gate(report, args.min_f1, args.min_name_recall)
    report["gate"] = {
        "min_f1": args.min_f1,
        "min_name_recall": args.min_name_recall,
        "failures": failures,
    }
    if args.json:
        out.write(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    else:
        out.write(
            f"engine: {about['entries']} entries, {about['names']} names,"
            f" {about['rule_count']} rules ({about['config']})\n"
        )
        for path in files:
            out.write(f"file: {path}\n")
        if report["items"] is not None:
            render_items(report["items"], out)
        if report["names"] is not None:
            render_names(report["names"], out)
        for failure in failures:
            out.write(f"\nFAIL {failure}\n")
    for failure in failures if args.json else ():
        print(f"FAIL {failure}", file=sys.stderr)
    return 1 if failures else 0


def _check_unique(items: Sequence[LabelledItem], names: Sequence[NameCase]) -> None:
    """Listings name cases by id, so an id used twice (e.g. a file given twice) is an error."""
    for kind, cases in (("item", items), ("name case", names)):
        seen: dict[str, str] = {}
        for case in cases:
            if case.id in seen:
                raise BenchInputError(
                    f"{case.where}: {kind} id {case.id!r} already used at {seen[case.id]}",
                    hint="ids must be unique across the files given",
                )
            seen[case.id] = case.where


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("files", nargs="*", metavar="FILE", help="JSONL files (default: dev set)")
    p.add_argument("--config", metavar="PATH", help="TOML config (default: built-in defaults)")
    p.add_argument(
        "--with-lists",
        action="store_true",
        help="also use the imported lists and Slack edits in the config's database",
    )
    p.add_argument("--json", action="store_true", help="one JSON document with every figure")
    p.add_argument("--min-f1", type=float, metavar="X", help="exit 1 when item F1 < X")
    p.add_argument("--min-name-recall", type=float, metavar="X", help="exit 1 when name recall < X")
    args = p.parse_args(argv)
    try:
        return run(args, out or sys.stdout)
    except SanctionwatchError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
