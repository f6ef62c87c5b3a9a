"""Alert rules: load them from YAML, evaluate them on one item's matches, explain them.

A rule fires on an item when, among the matches scoring at least `min_score`:
  * every `all` clause is satisfied by some match,
  * at least one `any` clause is satisfied (when `any` is given),
  * no `none` clause is satisfied anywhere in the item,
  * and, with `within_words: N`, one match per `all` clause plus one `any` match lie in the
    same field (title or text) inside a window of at most N words,
  * and, with `within: sentence | paragraph`, such a set of matches lies in one sentence or
    paragraph (a title match counts as near every unit; `within: item` sets no limit).
A clause is satisfied by a match whose entry meets every key given in the clause (within one
key, any listed value will do). See rules/README.md for the analysts' version.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sanctionwatch.config.yamlfiles import YAML_SUFFIXES, item_lines, read_yaml
from sanctionwatch.errors import RuleError
from sanctionwatch.matching.evaluate import (
    CLAUSE_KEYS,
    MatcherLike,
    RuleOutcome,
    clause_matches,
    describe_clause,
    evaluate,
    explain,
    run_examples,
)
from sanctionwatch.matching.units import UNITS
from sanctionwatch.models import ENTRY_TYPES, Clause, Entry, Example, Rule

log = logging.getLogger(__name__)

__all__ = [
    "MatcherLike",
    "RuleOutcome",
    "clause_matches",
    "describe_clause",
    "evaluate",
    "explain",
    "lint_rules",
    "load_rule_file",
    "load_rules",
    "parse_rule",
    "run_examples",
]

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
    "within",
    "all",
    "any",
    "none",
    "examples",
    "digest",
)
# A rule may ask for its alerts to be listed in one message per UTC hour or day (the same
# words as the config's [channels."#x"] digest); severity high and above still posts at once.
DIGEST_PERIODS = ("hourly", "daily")
EXAMPLE_KEYS = ("fire", "quiet")


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
        # Either a list of texts, or a mapping of language tag to texts ({en: [..], ru: [..]}),
        # so that tests can count the languages a rule is shown to work in.
        groups = texts.items() if isinstance(texts, dict) else [("", texts)]
        for lang, items in groups:
            label = f"{key}.{lang}" if lang else str(key)
            for text in _strings(items, f"{where}: examples", label):
                out.append(Example(text=text, should_fire=key == "fire", lang=str(lang)))
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
    within_unit = raw.get("within")
    if within_unit is not None and within_unit not in UNITS:
        raise RuleError(
            f"{where}: 'within' must be one of {', '.join(UNITS)}, got {within_unit!r}",
            hint="within: sentence (or paragraph, item); within_words takes a word count",
        )
    min_score = _number(raw, "min_score", where, 0, 100)
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise RuleError(f"{where}: 'description' must be text", hint="quote it")
    digest = raw.get("digest")
    if digest is not None and digest not in DIGEST_PERIODS:
        raise RuleError(
            f"{where}: 'digest' must be one of {', '.join(DIGEST_PERIODS)}, got {digest!r}",
            hint="digest: daily lists the rule's stories in one message a day",
        )
    rule = Rule(
        name=name.strip(),
        file=file,
        severity=severity,
        channel=channel.strip() if isinstance(channel, str) else None,
        all=_parse_clauses(raw, "all", where),
        any=_parse_clauses(raw, "any", where),
        none=_parse_clauses(raw, "none", where),
        within_words=int(within) if within is not None else None,
        within=within_unit,
        min_score=DEFAULT_MIN_SCORE if min_score is None else min_score,
        description=description.strip(),
        examples=_parse_examples(raw.get("examples"), where),
        digest=digest,
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
