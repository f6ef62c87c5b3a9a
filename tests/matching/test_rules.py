"""Rule loading errors and evaluation semantics, with hand-built Match objects."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from sanctionwatch.errors import RuleError
from sanctionwatch.matching.rules import (
    DEFAULT_MIN_SCORE,
    evaluate,
    explain,
    lint_rules,
    load_rule_file,
    load_rules,
    run_examples,
)
from sanctionwatch.models import Clause, Entry, Example, Match, Rule
from tests.support.factories import make_match, slug
from tests.support.paths import FIXTURES, REPO

BAD = FIXTURES / "rules_bad"
CHANNEL = "#sanctions-alerts"

BAD_CASES = [
    ("unknown_key.yaml", ["unknown_key.yaml", "typo-rule", "unknown key 'within_word'"]),
    ("unknown_clause_key.yaml", ["unknown_clause_key.yaml", "clause-typo", "all[1]", "unknown clause key 'tag'"]),
    ("bad_severity.yaml", ["bad_severity.yaml", "bad-severity", "unknown severity 'urgent'"]),
    ("no_all_or_any.yaml", ["no_all_or_any.yaml", "only-none", "needs an 'all' or 'any' clause"]),
    ("bad_min_score.yaml", ["bad_min_score.yaml", "bad-score", "'min_score' must be a number from 0 to 100"]),
    ("bad_type.yaml", ["bad_type.yaml", "rule 2", "bad-type", "all[1]", "unknown type 'persn'"]),
    ("bad_examples.yaml", ["bad_examples.yaml", "bad-examples", "unknown key 'silent'"]),
    ("missing_name.yaml", ["missing_name.yaml", "missing 'name'"]),
    ("bad_syntax.yaml", ["bad_syntax.yaml", "YAML syntax error at line"]),
    ("within_not_int.yaml", ["within_not_int.yaml", "within-fraction", "'within_words' must be a whole number"]),
]  # fmt: skip


@pytest.mark.parametrize(("filename", "needles"), BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_bad_rule_files_name_file_and_key(filename: str, needles: list[str]) -> None:
    with pytest.raises(RuleError) as info:
        load_rule_file(BAD / filename)
    message = str(info.value)
    for needle in needles:
        assert needle in message, f"{needle!r} missing from: {message}"
    assert info.value.hint


def test_every_bad_fixture_is_covered() -> None:
    assert {p.name for p in BAD.glob("*.yaml")} == {name for name, _ in BAD_CASES}


def test_duplicate_rule_names_across_files(tmp_path: Path) -> None:
    body = "name: same\nall:\n  - tags: [dprk]\n"
    (tmp_path / "a.yaml").write_text(body)
    (tmp_path / "b.yml").write_text(body)
    with pytest.raises(RuleError, match=r"b\.yml: rule name 'same' is already used in .*a\.yaml"):
        load_rules(tmp_path)


def test_single_rule_and_rules_list_files(tmp_path: Path) -> None:
    (tmp_path / "one.yaml").write_text(
        "name: one\nseverity: critical\nchannel: '#dprk'\nwithin_words: 12\nmin_score: 95\n"
        "all:\n  - tags: dprk\n    types: [country, person]\n"
        "examples:\n  fire: [a, b]\n  quiet: c\n"
    )
    (tmp_path / "many.yaml").write_text(
        "rules:\n  - name: two\n    any: [{watchlists: [Iran]}, {entities: [Kim Jong Un]}]\n"
        "  - name: three\n    all: {tags: [russia]}\n    none: [{tags: [lookalike]}]\n"
    )
    (tmp_path / "notes.txt").write_text("not a rule")
    rules = {r.name: r for r in load_rules(tmp_path)}
    assert sorted(rules) == ["one", "three", "two"]
    one = rules["one"]
    assert (one.severity, one.channel, one.within_words, one.min_score) == (
        "critical",
        "#dprk",
        12,
        95.0,
    )
    assert one.all == (Clause(tags=("dprk",), types=("country", "person")),)
    assert [(e.text, e.should_fire) for e in one.examples] == [
        ("a", True),
        ("b", True),
        ("c", False),
    ]
    assert one.file.endswith("one.yaml")
    two = rules["two"]
    assert two.severity == "medium" and two.channel is None and two.min_score == DEFAULT_MIN_SCORE
    assert two.any == (Clause(watchlists=("iran",)), Clause(entities=("Kim Jong Un",)))
    assert rules["three"].none == (Clause(tags=("lookalike",)),)


# ---------------------------------------------------------------- evaluation


def m(
    entity: str,
    tags: tuple[str, ...],
    *,
    list_: str = "x",
    type_: str = "keyword",
    score: float = 100.0,
    field: str = "text",
    tok: int = 0,
    width: int = 1,
) -> Match:
    return make_match(
        entity,
        entity,
        entity_id=f"{list_}:{slug(entity)}",
        watchlist=list_,
        field=field,
        start=tok * 6,
        score=score,
        detail="exact",
        type=type_,
        tags=tags,
        token_start=tok,
        token_end=tok + width,
    )


def rule(**kw: object) -> Rule:
    base: dict[str, object] = {
        "name": "r",
        "file": "rules/r.yaml",
        "severity": "high",
        "channel": None,
    }
    base.update(kw)
    return Rule(**base)  # type: ignore[arg-type]


DPRK = m("North Korea", ("dprk", "state"), list_="dprk", type_="country", tok=0, width=2)
RUSSIA = m("Russia", ("russia", "state"), list_="russia", type_="country", tok=8)
SHELLS = m(
    "artillery shells", ("weapon", "munitions"), list_="weapons", type_="weapon", tok=4, width=2
)
OPERA = m("Richard Wagner", ("lookalike", "opera"), list_="lookalikes", type_="person", tok=20)

ALL_DPRK_RUSSIA = (Clause(tags=("dprk",)), Clause(tags=("russia",)))


def test_all_clauses_must_each_be_met() -> None:
    r = rule(all=ALL_DPRK_RUSSIA)
    assert [a.rule for a in evaluate([r], [DPRK, RUSSIA], CHANNEL)] == ["r"]
    assert evaluate([r], [DPRK], CHANNEL) == []
    (outcome,) = explain([r], [DPRK], CHANNEL)
    assert not outcome.fired and "all[2] {tags: russia} not met: no match" in outcome.reason


def test_any_needs_one_clause() -> None:
    r = rule(all=ALL_DPRK_RUSSIA, any=(Clause(tags=("missile",)), Clause(tags=("munitions",))))
    assert evaluate([r], [DPRK, RUSSIA, SHELLS], CHANNEL)
    assert not evaluate([r], [DPRK, RUSSIA], CHANNEL)
    (outcome,) = explain([r], [DPRK, RUSSIA], CHANNEL)
    assert outcome.reason.startswith("no 'any' clause met")


def test_any_only_rule() -> None:
    r = rule(any=(Clause(tags=("missile",)), Clause(tags=("munitions",))))
    assert evaluate([r], [SHELLS], CHANNEL)
    assert not evaluate([r], [DPRK], CHANNEL)


def test_none_clause_anywhere_silences() -> None:
    r = rule(all=ALL_DPRK_RUSSIA, none=(Clause(tags=("opera",)),))
    assert evaluate([r], [DPRK, RUSSIA], CHANNEL)
    assert not evaluate([r], [DPRK, RUSSIA, OPERA], CHANNEL)
    (outcome,) = explain([r], [DPRK, RUSSIA, OPERA], CHANNEL)
    assert "none[1] {tags: opera} excludes this item" in outcome.reason
    assert "Richard Wagner" in outcome.reason


def test_weak_none_match_does_not_silence() -> None:
    r = rule(all=ALL_DPRK_RUSSIA, none=(Clause(tags=("opera",)),))
    weak_opera = m("Richard Wagner", ("opera",), score=60, tok=20)
    assert evaluate([r], [DPRK, RUSSIA, weak_opera], CHANNEL)


def test_min_score_filters_and_explains() -> None:
    weak_russia = m("Russia", ("russia",), score=80, tok=8)
    r = rule(all=ALL_DPRK_RUSSIA)
    assert not evaluate([r], [DPRK, weak_russia], CHANNEL)
    (outcome,) = explain([r], [DPRK, weak_russia], CHANNEL)
    assert "score 80) is below min_score 88" in outcome.reason
    assert evaluate([rule(all=ALL_DPRK_RUSSIA, min_score=75)], [DPRK, weak_russia], CHANNEL)
    at_threshold = m("Russia", ("russia",), score=DEFAULT_MIN_SCORE, tok=8)
    assert evaluate([r], [DPRK, at_threshold], CHANNEL)


def test_clause_keys_are_anded_values_ored() -> None:
    kim = m("Kim Jong Un", ("dprk", "leader"), list_="dprk", type_="person")
    clause = Clause(watchlists=("dprk",), tags=("leader", "military"), types=("person",))
    r = rule(all=(clause,))
    assert evaluate([r], [kim], CHANNEL)
    assert not evaluate([r], [DPRK], CHANNEL)  # dprk list, but a country without the tags
    other_list = m("Kim Jong Un", ("dprk", "leader"), list_="imported", type_="person")
    assert not evaluate([r], [other_list], CHANNEL)


def test_entities_clause_accepts_name_or_id_case_insensitively() -> None:
    assert evaluate([rule(all=(Clause(entities=("north korea",)),))], [DPRK], CHANNEL)
    assert evaluate([rule(all=(Clause(entities=("dprk:north-korea",)),))], [DPRK], CHANNEL)
    assert not evaluate([rule(all=(Clause(entities=("South Korea",)),))], [DPRK], CHANNEL)


def test_programs_clause_matches_programme_prefixes() -> None:
    r = rule(all=(Clause(programs=("DPRK",)),))
    assert not evaluate([r], [DPRK], CHANNEL)  # no programmes on the match
    listed = dataclasses.replace(DPRK, programs=("DPRK3", "NPWMD"))
    assert evaluate([r], [listed], CHANNEL)  # "DPRK" is a prefix of "DPRK3"
    other = dataclasses.replace(DPRK, programs=("IRAN",))
    assert not evaluate([r], [other], CHANNEL)


def test_within_words_uses_token_positions() -> None:
    near = rule(all=ALL_DPRK_RUSSIA, any=(Clause(tags=("munitions",)),), within_words=9)
    far = rule(all=ALL_DPRK_RUSSIA, any=(Clause(tags=("munitions",)),), within_words=8)
    # DPRK tokens 0-2, shells 4-6, Russia 8-9: the window spans 9 words
    assert evaluate([near], [DPRK, SHELLS, RUSSIA], CHANNEL)
    assert not evaluate([far], [DPRK, SHELLS, RUSSIA], CHANNEL)
    (outcome,) = explain([far], [DPRK, SHELLS, RUSSIA], CHANNEL)
    assert "closest set of matches spans 9 words" in outcome.reason


def test_within_words_picks_the_closest_set() -> None:
    far_russia = m("Russia", ("russia",), tok=200)
    r = rule(all=ALL_DPRK_RUSSIA, within_words=10)
    (alert,) = evaluate([r], [DPRK, far_russia, RUSSIA], CHANNEL)
    assert {x.token_start for x in alert.matches} == {0, 8}
    assert "within 9 words in the text" in alert.explanation


def test_within_words_text_matches_in_separate_fields_do_not_combine() -> None:
    r = rule(all=ALL_DPRK_RUSSIA, any=(Clause(tags=("munitions",)),), within_words=10)
    title_shells = m("artillery shells", ("munitions",), field="title", tok=3)
    body_dprk = m("North Korea", ("dprk",), tok=0)
    title_russia = m("Russia", ("russia",), field="title", tok=0)
    # every slot has a title match -> title window
    assert evaluate(
        [r],
        [title_shells, m("North Korea", ("dprk",), field="title", tok=1), title_russia],
        CHANNEL,
    )
    # title matches count as near the text: text has only DPRK, title has the rest
    (alert,) = evaluate([r], [body_dprk, title_shells, title_russia], CHANNEL)
    assert {x.field for x in alert.matches} == {"title", "text"}
    # but a slot met only in the text must be near the other text matches
    body_russia_far = m("Russia", ("russia",), tok=50)
    assert not evaluate([r], [body_dprk, body_russia_far, title_shells], CHANNEL)


def test_within_words_other_fields_never_mix() -> None:
    r = rule(all=ALL_DPRK_RUSSIA, within_words=10)
    a = m("North Korea", ("dprk",), field="summary", tok=0)
    b = m("Russia", ("russia",), field="text", tok=1)
    (outcome,) = explain([r], [a, b], CHANNEL)
    assert not outcome.fired and "different fields" in outcome.reason


def test_without_within_words_fields_combine() -> None:
    title_russia = m("Russia", ("russia",), field="title", tok=0)
    assert evaluate([rule(all=ALL_DPRK_RUSSIA)], [DPRK, title_russia], CHANNEL)


def test_channel_defaults_and_overrides() -> None:
    default, own = (
        rule(name="a", all=ALL_DPRK_RUSSIA),
        rule(name="b", all=ALL_DPRK_RUSSIA, channel="#dprk"),
    )
    alerts = {a.rule: a for a in evaluate([default, own], [DPRK, RUSSIA], CHANNEL)}
    assert alerts["a"].channel == CHANNEL and alerts["b"].channel == "#dprk"


def test_alert_holds_matches_and_explanation() -> None:
    r = rule(
        name="dprk-russia",
        severity="critical",
        all=ALL_DPRK_RUSSIA,
        any=(Clause(tags=("munitions",)),),
    )
    (alert,) = evaluate([r], [RUSSIA, SHELLS, DPRK, OPERA], CHANNEL)
    assert alert.severity == "critical"
    assert [x.entity for x in alert.matches] == ["North Korea", "artillery shells", "Russia"]
    assert "rule 'dprk-russia' (critical) fired" in alert.explanation
    assert "all[1] {tags: dprk}: matched 'North Korea'" in alert.explanation
    assert "Richard Wagner" not in alert.explanation


def test_explain_returns_one_outcome_per_rule_with_details() -> None:
    rules = [rule(name="a", all=ALL_DPRK_RUSSIA), rule(name="b", all=(Clause(tags=("iran",)),))]
    outcomes = explain(rules, [DPRK, RUSSIA], CHANNEL)
    assert [(o.rule, o.fired) for o in outcomes] == [("a", True), ("b", False)]
    assert outcomes[0].alert is not None and outcomes[1].alert is None
    assert len(outcomes[0].details) == 2


class FakeMatcher:
    """Stand-in matcher for run_examples: a fixed word -> Match table (the real one is tested
    in test_rule_examples.py)."""

    def __init__(self, table: dict[str, Match]) -> None:
        self.table = table

    def find(self, text: str, field: str = "text") -> list[Match]:
        words = text.split()
        return [
            m(self.table[w].entity, self.table[w].tags, tok=i)
            for i, w in enumerate(words)
            if w in self.table
        ]


def test_run_examples_reports_each_failure() -> None:
    matcher = FakeMatcher({"DPRK": DPRK, "Russia": RUSSIA})
    r = rule(name="pair", all=ALL_DPRK_RUSSIA)
    examples = (
        Example("DPRK and Russia", True),
        Example("only DPRK here", True),
        Example("Russia with DPRK again", False),
        Example("nothing", False),
    )
    r_with = Rule(**{**r.__dict__, "examples": examples})
    failures = run_examples([r_with], matcher, CHANNEL)
    assert len(failures) == 2
    assert "fire example did not fire: 'only DPRK here'" in failures[0]
    assert "all[2] {tags: russia} not met" in failures[0]
    assert "quiet example fired: 'Russia with DPRK again'" in failures[1]


def test_lint_flags_unknown_tags_and_lists() -> None:
    entries = [
        Entry(
            id="dprk:north-korea", name="North Korea", type="country", list="dprk", tags=("dprk",)
        )
    ]
    rules = [
        rule(name="ok", all=(Clause(tags=("dprk",), watchlists=("dprk",)),)),
        rule(
            name="typo", all=(Clause(tags=("dprkk",)),), none=(Clause(watchlists=("lookalike",)),)
        ),
    ]
    warnings = lint_rules(rules, entries)
    assert len(warnings) == 2
    assert "rule 'typo': all[1]: no entry has tag 'dprkk'" in warnings[0]
    assert "none[1]: no entry has watchlist 'lookalike'" in warnings[1]


def test_default_rules_load_and_reference_only_existing_tags() -> None:
    from sanctionwatch.watchlists.files import load_watchlists

    rules = load_rules(REPO / "rules")
    assert len(rules) >= 8
    assert lint_rules(rules, load_watchlists(REPO / "watchlists")) == []
    for r in rules:
        fire = [e for e in r.examples if e.should_fire]
        quiet = [e for e in r.examples if not e.should_fire]
        assert len(fire) >= 2 and len(quiet) >= 2, r.name
        assert r.description, r.name
