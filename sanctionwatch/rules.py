"""Alert rules: load them from YAML, evaluate them on one item's matches, explain them.

A rule fires on an item when, among the matches scoring at least `min_score`:
  * every `all` clause is satisfied by some match,
  * at least one `any` clause is satisfied (when `any` is given),
  * no `none` clause is satisfied anywhere in the item,
  * and, with `within_words: N`, one match per `all` clause plus one `any` match lie in the
    same field (title or text) inside a window of at most N words.
A clause is satisfied by a match whose entry meets every key given in the clause (within one
key, any listed value will do). See rules/README.md for the analysts' version.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sanctionwatch.errors import RuleError
from sanctionwatch.models import ENTRY_TYPES, Alert, Clause, Entry, Example, Match, Rule
from sanctionwatch.watchlists import YAML_SUFFIXES, item_lines, read_yaml

log = logging.getLogger(__name__)

SEVERITIES = ("low", "medium", "high", "critical")
DEFAULT_SEVERITY = "medium"
# Matcher scores are 0..100; 88 keeps exact, transliterated and inflected forms (the
# matcher scores those 90+) while dropping loose fuzzy hits that analysts found noisy.
DEFAULT_MIN_SCORE = 88.0
RULE_KEYS = (
    "name",
    "description",
    "severity",
    "channel",
    "min_score",
    "within_words",
    "all",
    "any",
    "none",
    "examples",
)
CLAUSE_KEYS = ("watchlists", "tags", "types", "programs", "entities")
EXAMPLE_KEYS = ("fire", "quiet")
_EXAMPLE_PREVIEW_CHARS = 80  # how much of an example text a failure message quotes


class MatcherLike(Protocol):
    """What run_examples needs from sanctionwatch.matcher.Matcher."""

    def find(self, text: str, field: str = "text") -> list[Match]: ...


@dataclass(frozen=True)
class RuleOutcome:
    """Why one rule did or did not fire on one item (for `bot.py match` and debugging)."""

    rule: str
    fired: bool
    reason: str  # one line: what made it fire, or the first thing that stopped it
    details: tuple[str, ...] = ()  # one line per clause
    alert: Alert | None = None


# ---------------------------------------------------------------- loading


def _strings(value: Any, where: str, key: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(v, str) for v in items):
        raise RuleError(
            f"{where}: '{key}' must be text or a non-empty list of text, got {value!r}",
            hint=f"write {key}: [first, second]; quote yes/no/on/off",
        )
    return tuple(v.strip() for v in items)


def _parse_clause(raw: Any, where: str) -> Clause:
    if not isinstance(raw, dict) or not raw:
        raise RuleError(
            f"{where}: a clause must be a mapping such as {{tags: [dprk]}}, got {raw!r}",
            hint=f"clause keys are: {', '.join(CLAUSE_KEYS)}",
        )
    for key in raw:
        if key not in CLAUSE_KEYS:
            raise RuleError(
                f"{where}: unknown clause key '{key}'",
                hint=f"clause keys are: {', '.join(CLAUSE_KEYS)}",
            )
    values = {key: _strings(raw[key], where, key) for key in raw}
    for t in values.get("types", ()):
        if t not in ENTRY_TYPES:
            raise RuleError(
                f"{where}: unknown type '{t}' in 'types'",
                hint=f"types are: {', '.join(ENTRY_TYPES)}",
            )
    return Clause(
        watchlists=tuple(v.lower() for v in values.get("watchlists", ())),
        tags=tuple(v.lower() for v in values.get("tags", ())),
        types=values.get("types", ()),
        programs=values.get("programs", ()),
        entities=values.get("entities", ()),
    )


def _parse_clauses(raw: dict[str, Any], key: str, where: str) -> tuple[Clause, ...]:
    value = raw.get(key)
    if value is None:
        return ()
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not value:
        raise RuleError(
            f"{where}: '{key}' must be a non-empty list of clauses",
            hint=f"write {key}: [{{tags: [dprk]}}, {{watchlists: [weapons]}}]",
        )
    return tuple(_parse_clause(c, f"{where}: {key}[{i}]") for i, c in enumerate(value, 1))


def _parse_examples(raw: Any, where: str) -> tuple[Example, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise RuleError(
            f"{where}: 'examples' must be a mapping", hint="examples: {fire: [..], quiet: [..]}"
        )
    out: list[Example] = []
    for key, texts in raw.items():
        if key not in EXAMPLE_KEYS:
            raise RuleError(
                f"{where}: examples: unknown key '{key}'",
                hint="use examples.fire and examples.quiet",
            )
        for text in _strings(texts, f"{where}: examples", str(key)):
            out.append(Example(text=text, should_fire=key == "fire"))
    return tuple(out)


def _number(raw: dict[str, Any], key: str, where: str, low: float, high: float) -> float | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise RuleError(
            f"{where}: '{key}' must be a number from {low:g} to {high:g}, got {value!r}",
            hint="min_score is a matcher score 0..100; within_words a word count",
        )
    return float(value)


def parse_rule(raw: Any, where: str, file: str) -> Rule:
    """Validate one rule mapping; `where` prefixes error messages (file and position)."""
    if not isinstance(raw, dict):
        raise RuleError(
            f"{where}: a rule must be a mapping, got {raw!r}", hint="see rules/README.md"
        )
    if isinstance(raw.get("name"), str) and raw["name"].strip():
        where = f"{where} ('{raw['name'].strip()}')"
    for key in raw:
        if key not in RULE_KEYS:
            raise RuleError(
                f"{where}: unknown key '{key}'", hint=f"rule keys are: {', '.join(RULE_KEYS)}"
            )
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise RuleError(f"{where}: missing 'name'", hint="every rule needs a unique name")
    severity = raw.get("severity", DEFAULT_SEVERITY)
    if severity not in SEVERITIES:
        raise RuleError(
            f"{where}: unknown severity {severity!r}",
            hint=f"severity is one of {', '.join(SEVERITIES)}",
        )
    channel = raw.get("channel")
    if channel is not None and (not isinstance(channel, str) or not channel.strip()):
        raise RuleError(
            f"{where}: 'channel' must be a channel name", hint="e.g. channel: '#dprk-alerts'"
        )
    within = _number(raw, "within_words", where, 1, 10_000)
    if within is not None and within != int(within):
        raise RuleError(
            f"{where}: 'within_words' must be a whole number", hint="e.g. within_words: 15"
        )
    min_score = _number(raw, "min_score", where, 0, 100)
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise RuleError(f"{where}: 'description' must be text", hint="quote it")
    rule = Rule(
        name=name.strip(),
        file=file,
        severity=severity,
        channel=channel.strip() if isinstance(channel, str) else None,
        all=_parse_clauses(raw, "all", where),
        any=_parse_clauses(raw, "any", where),
        none=_parse_clauses(raw, "none", where),
        within_words=int(within) if within is not None else None,
        min_score=DEFAULT_MIN_SCORE if min_score is None else min_score,
        description=description.strip(),
        examples=_parse_examples(raw.get("examples"), where),
    )
    if not rule.all and not rule.any:
        raise RuleError(
            f"{where}: needs an 'all' or 'any' clause",
            hint="a rule with only 'none' would fire on everything",
        )
    return rule


def load_rule_file(path: Path) -> list[Rule]:
    """One file: either a single rule (top-level keys) or `rules: [ ... ]`."""
    data, node = read_yaml(path, RuleError)
    if isinstance(data, dict) and set(data) == {"rules"}:
        if not isinstance(data["rules"], list) or not data["rules"]:
            raise RuleError(
                f"{path}: 'rules' must be a non-empty list", hint="rules: [ {name: ..}, .. ]"
            )
        lines = item_lines(node, "rules")
        return [
            parse_rule(
                raw,
                f"{path}: rule {i}" + (f", line {lines[i - 1]}" if i <= len(lines) else ""),
                str(path),
            )
            for i, raw in enumerate(data["rules"], 1)
        ]
    return [parse_rule(data, str(path), str(path))]


def load_rules(folder: Path) -> list[Rule]:
    """Every *.yaml / *.yml file in `folder`, sorted by file name. Rule names must be unique."""
    folder = Path(folder)
    if not folder.is_dir():
        raise RuleError(f"{folder}: rules folder does not exist", hint="set 'rules' in the config")
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    for path in sorted(p for p in folder.iterdir() if p.suffix in YAML_SUFFIXES and p.is_file()):
        for rule in load_rule_file(path):
            if rule.name in seen:
                raise RuleError(
                    f"{path}: rule name '{rule.name}' is already used in {seen[rule.name]}",
                    hint="rule names must be unique; rename one",
                )
            seen[rule.name] = str(path)
            rules.append(rule)
    log.info("rules loaded folder=%s rules=%d", folder, len(rules))
    return rules


def lint_rules(rules: Sequence[Rule], entries: Sequence[Entry]) -> list[str]:
    """Warnings for clause values no entry has (a typo there makes a rule silently dead)."""
    known = {
        "watchlists": {e.list for e in entries},
        "tags": {t for e in entries for t in e.tags},
        "types": set(ENTRY_TYPES),
        "entities": {n.casefold() for e in entries for n in (e.name, e.id)},
    }
    programs = {p for e in entries for p in e.programs}
    warnings: list[str] = []
    for rule in rules:
        for part in ("all", "any", "none"):
            for i, clause in enumerate(getattr(rule, part), 1):
                for key, values in known.items():
                    for value in getattr(clause, key):
                        probe = value.casefold() if key == "entities" else value
                        if probe not in values:
                            warnings.append(
                                f"{rule.file}: rule '{rule.name}': {part}[{i}]: no entry has {key[:-1]} '{value}'"
                            )
                for prefix in clause.programs:
                    if not any(p.startswith(prefix) for p in programs):
                        warnings.append(
                            f"{rule.file}: rule '{rule.name}': {part}[{i}]: no entry has a program starting '{prefix}'"
                        )
    return warnings


# ---------------------------------------------------------------- evaluation


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
    )
    reason = ", ".join(dict.fromkeys(m.entity for m in unique)) + proximity
    return RuleOutcome(rule.name, True, f"fired on {reason}", tuple(details), alert)


def explain(
    rules: Sequence[Rule], matches: Sequence[Match], default_channel: str
) -> list[RuleOutcome]:
    """One outcome per rule: fired or not, and why not."""
    return [_outcome(rule, matches, default_channel) for rule in rules]


def evaluate(rules: Sequence[Rule], matches: Sequence[Match], default_channel: str) -> list[Alert]:
    """Alerts of the rules that fire on one item's matches (title and text together)."""
    alerts = [o.alert for o in explain(rules, matches, default_channel) if o.alert is not None]
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
