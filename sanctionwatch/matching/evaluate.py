"""Rule evaluation: does a rule fire on one item's matches, and if not, why not.

Semantics (see rules/README.md): only matches scoring >= min_score count; every `all` clause
and one `any` clause must be met, no `none` clause may be; with `within_words`, one match per
slot must fit a window of N words within one field (title matches count as near the text).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sanctionwatch.models import Alert, Clause, Match, Rule

log = logging.getLogger(__name__)

CLAUSE_KEYS = ("watchlists", "tags", "types", "programs", "entities")
_EXAMPLE_PREVIEW_CHARS = 80  # how much of an example text a failure message quotes


class MatcherLike(Protocol):
    """What run_examples needs from sanctionwatch.matching.matcher.Matcher."""

    def find(self, text: str, field: str = "text") -> list[Match]: ...


@dataclass(frozen=True)
class RuleOutcome:
    """Why one rule did or did not fire on one item (for `bot.py match` and debugging)."""

    rule: str
    fired: bool
    reason: str  # one line: what made it fire, or the first thing that stopped it
    details: tuple[str, ...] = ()  # one line per clause
    alert: Alert | None = None


def clause_matches(clause: Clause, match: Match) -> bool:
    """True when the match's entry meets every key the clause gives (any value per key)."""
    if clause.watchlists and match.watchlist.lower() not in clause.watchlists:
        return False
    if clause.tags and not set(clause.tags) & {t.lower() for t in match.tags}:
        return False
    if clause.types and match.type not in clause.types:
        return False
    if clause.programs:
        # Match has no programs field yet; read it when the model grows one.
        programs: tuple[str, ...] = getattr(match, "programs", ())
        if not any(p.startswith(prefix) for p in programs for prefix in clause.programs):
            return False
    if clause.entities:
        wanted = {e.casefold() for e in clause.entities}
        if match.entity.casefold() not in wanted and match.entity_id.casefold() not in wanted:
            return False
    return True


def describe_clause(clause: Clause) -> str:
    parts = [
        f"{key}: {', '.join(getattr(clause, key))}" for key in CLAUSE_KEYS if getattr(clause, key)
    ]
    return "{" + "; ".join(parts) + "}"


def _show(m: Match) -> str:
    return f"'{m.text}' ({m.entity}, {m.field}, score {m.score:.0f})"


def _order(m: Match) -> tuple[int, int, float]:
    return (0 if m.field == "title" else 1, m.start, -m.score)


def _window(per_slot: list[list[Match]]) -> tuple[int, list[Match]] | None:
    """Smallest word span covering one match per slot (all matches from one field)."""
    best: tuple[int, list[Match]] | None = None
    for left in sorted({m.token_start for slot in per_slot for m in slot}):
        chosen: list[Match] = []
        for slot in per_slot:
            after = [m for m in slot if m.token_start >= left]
            if not after:
                break
            chosen.append(min(after, key=lambda m: (m.token_end, -m.score)))
        else:
            span = max(m.token_end for m in chosen) - min(m.token_start for m in chosen)
            if best is None or span < best[0]:
                best = (span, chosen)
    return best


def _best_window(slots: list[list[Match]]) -> tuple[int, list[Match], str] | None:
    """Smallest span covering one match per slot, as (span, matches, field); None: impossible.

    Matches count as near each other only within one field. A title match states what the
    whole item is about, so it also counts as near every word of the text: a slot met in the
    title is satisfied for a text window too.
    """
    best: tuple[int, list[Match], str] | None = None
    fields = sorted({m.field for slot in slots for m in slot}, key=lambda f: f != "title")
    for fld in fields:
        in_field = [[m for m in slot if m.field == fld] for slot in slots]
        from_title: list[Match] = []
        if fld != "title":
            titled = [[m for m in slot if m.field == "title"] for slot in slots]
            if all(titled):
                continue  # the title-only window already covers this case
            from_title = [max(t, key=lambda m: m.score) for t in titled if t]
            in_field = [s for s, t in zip(in_field, titled, strict=True) if not t]
        if not all(in_field):
            continue
        found = _window(in_field)
        if found is not None and (best is None or found[0] < best[0]):
            best = (found[0], from_title + found[1], fld)
    return best


def _same_unit(slots: list[list[Match]], unit: str) -> tuple[str, list[Match]] | None:
    """One match per slot inside one sentence/paragraph of one field, as (where, matches).

    As for ``within_words``, a slot met in the title counts as near every unit of the text
    (the title states what the item is about); the title is one unit of its own.
    """
    titled = [[m for m in slot if m.field == "title"] for slot in slots]
    if all(titled):
        return "title", [max(t, key=lambda m: m.score) for t in titled]
    from_title = [max(t, key=lambda m: m.score) for t in titled if t]
    rest = [
        [m for m in s if m.field != "title"] for s, t in zip(slots, titled, strict=True) if not t
    ]
    units: dict[tuple[str, int], list[list[Match]]] = {}
    for i, slot in enumerate(rest):
        for m in slot:
            key = (m.field, m.sentence if unit == "sentence" else m.paragraph)
            units.setdefault(key, [[] for _ in rest])[i].append(m)
    for (fld, number), per_slot in sorted(units.items()):
        if all(per_slot):
            chosen = [max(s, key=lambda m: m.score) for s in per_slot]
            return f"{fld} {unit} {number + 1}", from_title + chosen
    return None


def _outcome(rule: Rule, matches: Sequence[Match], default_channel: str) -> RuleOutcome:
    strong = [m for m in matches if m.score >= rule.min_score]
    details: list[str] = []
    unmet: str | None = None

    def check(part: str, i: int, clause: Clause) -> list[Match]:
        nonlocal unmet
        hits = [m for m in strong if clause_matches(clause, m)]
        label = f"{part}[{i}] {describe_clause(clause)}"
        if hits:
            details.append(
                f"{label}: matched {', '.join(_show(m) for m in sorted(hits, key=_order))}"
            )
            return hits
        weak = [m for m in matches if clause_matches(clause, m)]
        if weak:
            top = max(weak, key=lambda m: m.score)
            why = f"best match {_show(top)} is below min_score {rule.min_score:g}"
        else:
            why = "no match"
        details.append(f"{label}: {why}")
        if part != "any" and unmet is None:
            unmet = f"{label} not met: {why}"
        return []

    all_hits = [check("all", i, c) for i, c in enumerate(rule.all, 1)]
    any_hits = [m for i, c in enumerate(rule.any, 1) for m in check("any", i, c)]
    if unmet is None and rule.any and not any_hits:
        unmet = "no 'any' clause met: " + "; ".join(d for d in details if d.startswith("any["))
    for i, clause in enumerate(rule.none, 1):
        hits = [m for m in strong if clause_matches(clause, m)]
        label = f"none[{i}] {describe_clause(clause)}"
        if hits:
            details.append(f"{label}: matched {_show(hits[0])}")
            if unmet is None:
                unmet = f"{label} excludes this item: matched {_show(hits[0])}"
        else:
            details.append(f"{label}: no match (good)")
    if unmet is not None:
        return RuleOutcome(rule.name, False, unmet, tuple(details))

    slots = list(all_hits) + ([any_hits] if rule.any else [])
    if rule.within_words is not None:
        window = _best_window(slots)
        if window is None:
            reason = (
                f"within_words {rule.within_words}: the clauses are only met in different fields"
            )
            return RuleOutcome(rule.name, False, reason, tuple(details))
        span, fired_by, fld = window
        if span > rule.within_words:
            reason = (
                f"within_words {rule.within_words}: the closest set of matches spans {span} words "
                f"({fld})"
            )
            return RuleOutcome(rule.name, False, reason, tuple(details))
        proximity = f"; within {span} words in the {fld}"
    else:
        fired_by = [m for slot in slots for m in slot]
        proximity = ""
    if rule.within in ("sentence", "paragraph"):
        found = _same_unit(slots, rule.within)
        if found is None:
            reason = f"within {rule.within}: no {rule.within} holds a match of every clause"
            return RuleOutcome(rule.name, False, reason, tuple(details))
        unit_text, in_unit = found
        if rule.within_words is None:
            fired_by = in_unit
        proximity += f"; within one {rule.within} ({unit_text})"
    unique = sorted(
        {(m.entity_id, m.field, m.start, m.end): m for m in fired_by}.values(), key=_order
    )
    parts = "; ".join(d for d in details if not d.startswith("none["))
    explanation = f"rule '{rule.name}' ({rule.severity}) fired: {parts}{proximity}"
    alert = Alert(
        rule=rule.name,
        severity=rule.severity,
        channel=rule.channel or default_channel,
        matches=tuple(unique),
        explanation=explanation,
        description=rule.description,
        digest=rule.digest,
    )
    reason = ", ".join(dict.fromkeys(m.entity for m in unique)) + proximity
    return RuleOutcome(rule.name, True, f"fired on {reason}", tuple(details), alert)


def explain(
    rules: Sequence[Rule], matches: Sequence[Match], default_channel: str
) -> list[RuleOutcome]:
    """One outcome per rule: fired or not, and why not."""
    return [_outcome(rule, matches, default_channel) for rule in rules]


@dataclass(frozen=True)
class _Facts:
    """What clauses test about one match, lowered once per item instead of once per clause."""

    score: float
    watchlist: str
    tags: frozenset[str]
    type: str
    programs: tuple[str, ...]
    names: frozenset[str]  # casefolded entity name and id

    @classmethod
    def of(cls, m: Match) -> _Facts:
        return cls(
            m.score,
            m.watchlist.lower(),
            frozenset(t.lower() for t in m.tags),
            m.type,
            m.programs,
            frozenset((m.entity.casefold(), m.entity_id.casefold())),
        )


def _meets(clause: Clause, f: _Facts) -> bool:
    """`clause_matches` on precomputed facts (the same tests, in the same order)."""
    if clause.watchlists and f.watchlist not in clause.watchlists:
        return False
    if clause.tags and f.tags.isdisjoint(clause.tags):
        return False
    if clause.types and f.type not in clause.types:
        return False
    if clause.programs and not any(
        p.startswith(prefix) for p in f.programs for prefix in clause.programs
    ):
        return False
    return not clause.entities or not f.names.isdisjoint(e.casefold() for e in clause.entities)


def _may_fire(rule: Rule, facts: Sequence[_Facts]) -> bool:
    """False when the clauses alone already stop the rule (no text is built for that).

    True means every `all` clause, one `any` clause and no `none` clause is met; whether the
    rule really fires (``within_words``) is then decided by `_outcome`, which builds the alert.
    """
    strong = [f for f in facts if f.score >= rule.min_score]
    for clause in rule.all:
        if not any(_meets(clause, f) for f in strong):
            return False
    if rule.any and not any(_meets(c, f) for c in rule.any for f in strong):
        return False
    return not any(_meets(c, f) for c in rule.none for f in strong)


def evaluate(rules: Sequence[Rule], matches: Sequence[Match], default_channel: str) -> list[Alert]:
    """Alerts of the rules that fire on one item's matches (title and text together).

    The same alerts as `explain`, but the explanation text is built only for rules whose
    clauses are met: most items match something yet fire nothing.
    """
    if not matches:
        return []
    facts = [_Facts.of(m) for m in matches]
    alerts = []
    for rule in rules:
        if _may_fire(rule, facts):
            alert = _outcome(rule, matches, default_channel).alert
            if alert is not None:
                alerts.append(alert)
    if alerts:
        log.debug("rules fired rules=%s", ",".join(a.rule for a in alerts))
    return alerts


def run_examples(rules: Sequence[Rule], matcher: MatcherLike, default_channel: str) -> list[str]:
    """Run every rule's fire/quiet examples through the matcher; return failure messages."""
    failures: list[str] = []
    for rule in rules:
        for example in rule.examples:
            outcome = _outcome(rule, matcher.find(example.text, field="text"), default_channel)
            if outcome.fired == example.should_fire:
                continue
            kind = "fire" if example.should_fire else "quiet"
            text = example.text
            if len(text) > _EXAMPLE_PREVIEW_CHARS:
                text = text[: _EXAMPLE_PREVIEW_CHARS - 1] + "…"
            verb = "did not fire" if example.should_fire else "fired"
            failures.append(
                f"{rule.file}: rule '{rule.name}': {kind} example {verb}: {text!r} — {outcome.reason}"
            )
    return failures
