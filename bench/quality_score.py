"""Scoring for bench/quality.py: item precision/recall/F1 and name recall/traps, as plain dicts.

Items are decided exactly as ``bot.py match --jsonl`` decides them (``Engine.match`` on title
and text, then ``Engine.evaluate``); the explanations come from ``rules.explain``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bench.quality_data import LabelledItem, NameCase
from sanctionwatch.matching.engine import Engine
from sanctionwatch.matching.evaluate import clause_matches
from sanctionwatch.matching.rules import DEFAULT_MIN_SCORE, explain
from sanctionwatch.models import Entry, Match, Rule

MAX_REASONS = 3  # rule reasons shown per miss: the rules that came closest to firing
# "Ursa Major (vessel)", "Viktor Khrenin (Belarus MoD)": a labeller's disambiguating note.
_QUALIFIER = re.compile(r"\s*\([^()]*\)\s*$")


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, label: str, alerted: bool) -> None:
        if label == "alert":
            self.tp, self.fn = self.tp + alerted, self.fn + (not alerted)
        else:
            self.fp, self.tn = self.fp + alerted, self.tn + (not alerted)

    def as_dict(self) -> dict[str, Any]:
        """Counts and P/R/F1; a ratio with nothing to divide by is None (printed '-')."""
        tp, fp, fn = self.tp, self.fp, self.fn
        return {
            "n": tp + fp + fn + self.tn,
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "tn": self.tn,
            "precision": _ratio(tp, tp + fp),
            "recall": _ratio(tp, tp + fn),
            "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        }


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def _closeness(rule: Rule, matches: Sequence[Match]) -> float:
    """How near a rule came to firing: the share of its positive slots (each `all` clause,
    one `any`) met, plus 1 when all were met (then proximity or a `none` clause stopped it)."""
    strong = [m for m in matches if m.score >= rule.min_score]
    met = sum(any(clause_matches(c, m) for m in strong) for c in rule.all)
    slots = len(rule.all)
    if rule.any:
        slots += 1
        met += any(clause_matches(c, m) for c in rule.any for m in strong)
    return met / slots + (met == slots)


def _entities(matches: Sequence[Match]) -> list[dict[str, Any]]:
    """Each matched entity once (its best match), in order of first appearance."""
    best: dict[str, Match] = {}
    for m in matches:
        if m.entity_id not in best or m.score > best[m.entity_id].score:
            best[m.entity_id] = m
    return [
        {"entity": m.entity, "watchlist": m.watchlist, "text": m.text, "field": m.field,
         "score": round(m.score, 1)}
        for m in best.values()
    ]  # fmt: skip


def score_items(engine: Engine, channel: str, items: Sequence[LabelledItem]) -> dict[str, Any]:
    overall = Counts()
    by_lang: dict[str, Counts] = {}
    misses: list[dict[str, Any]] = []
    false_alerts: list[dict[str, Any]] = []
    for item in items:
        matches = engine.match(item.title, item.text)
        alerts = engine.evaluate(matches, channel) if matches else []
        overall.add(item.label, bool(alerts))
        by_lang.setdefault(item.lang, Counts()).add(item.label, bool(alerts))
        head = {"id": item.id, "lang": item.lang, "title": item.title}
        if item.label == "alert" and not alerts:
            order = {r.name: i for i, r in enumerate(engine.rules)}
            near = sorted(
                ((_closeness(r, matches), r) for r in engine.rules),
                key=lambda cr: (-cr[0], order[cr[1].name]),
            )
            wanted = {r.name for c, r in near[:MAX_REASONS] if c > 0}
            outcomes = [o for o in explain(engine.rules, matches, channel) if o.rule in wanted]
            outcomes.sort(key=lambda o: [r.name for _c, r in near].index(o.rule))
            misses.append(
                {
                    **head,
                    "matched": _entities(matches),
                    "closest_rules": [{"rule": o.rule, "reason": o.reason} for o in outcomes],
                }
            )
        elif item.label == "quiet" and alerts:
            fired = [
                {
                    "rule": a.rule,
                    "words": [
                        {"text": m.text, "entity": m.entity, "field": m.field} for m in a.matches
                    ],
                }  # fmt: skip
                for a in alerts
            ]
            false_alerts.append({**head, "fired": fired})
    return {
        "overall": overall.as_dict(),
        "by_lang": {lang: by_lang[lang].as_dict() for lang in sorted(by_lang)},
        "misses": misses,
        "false_alerts": false_alerts,
    }


def _is(m: Match, wanted: str, entries: Mapping[str, Entry]) -> bool:
    """Is this match the named entity? The labels use one canonical English name, which may
    be an alias of ours ("HESA", "IRGC") and may carry a note in brackets ("(vessel)")."""
    names = {wanted.casefold(), _QUALIFIER.sub("", wanted).casefold()}
    entry = entries.get(m.entity_id)
    ours = {m.entity, *(entry.names if entry else ())}
    return any(n.casefold() in names for n in ours)


def _at(matches: Sequence[Match], text: str, span: str) -> list[Match]:
    """Matches overlapping the first occurrence of ``span`` in ``text``."""
    start = text.find(span)
    end = start + len(span)
    return [m for m in matches if m.start < end and m.end > start]


def _shown(matches: Sequence[Match]) -> list[dict[str, Any]]:
    return [
        {"entity": m.entity, "text": m.text, "start": m.start, "end": m.end,
         "score": round(m.score, 1)}
        for m in matches
    ]  # fmt: skip


def score_names(engine: Engine, cases: Sequence[NameCase]) -> dict[str, Any]:
    expected = found = forbidden = 0
    missed: list[dict[str, Any]] = []
    weak_found: list[dict[str, Any]] = []
    traps: list[dict[str, Any]] = []
    entries = {e.id: e for e in engine.entries}
    for case in cases:
        matches = engine.matcher.find(case.text, "text")
        for span, entity in case.expect:
            expected += 1
            here = _at(matches, case.text, span)
            right = [m for m in here if _is(m, entity, entries)]
            row = {"id": case.id, "span": span, "entity": entity, "found": _shown(here)}
            if not right:
                missed.append(row)
                continue
            found += 1
            if max(m.score for m in right) < DEFAULT_MIN_SCORE:
                weak_found.append(row)
        for span, wrong in case.forbid:
            forbidden += 1
            here = _at(matches, case.text, span)
            if any(_is(m, wrong, entries) for m in here):
                traps.append({"id": case.id, "span": span, "not": wrong, "found": _shown(here)})
    return {
        "expected": expected,
        "found": found,
        "recall": _ratio(found, expected),
        "min_score": DEFAULT_MIN_SCORE,
        "weak": len(weak_found),
        "forbidden": forbidden,
        "traps_taken": len(traps),
        "missed": missed,
        "weak_found": weak_found,
        "traps": traps,
    }
