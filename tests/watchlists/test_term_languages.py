"""Coverage by language: weapon/transfer/sanctions term groups and every rule's examples.

The held-out sets are in 29+ languages; a term group that silently loses languages (a
merge dropping a block, a typo in a tag) shows up here before it shows up as missed stories.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sanctionwatch.matching.rules import load_rules
from sanctionwatch.watchlists.files import aliases_by_lang, load_watchlists

REPO = Path(__file__).resolve().parents[2]
MIN_TERM_LANGUAGES = 30
MIN_EXAMPLE_LANGUAGES = 3
# (file, entry): the vocabulary groups the default rules are built on.
TERM_GROUPS = [
    ("weapons.yaml", "artillery shells"),
    ("weapons.yaml", "ammunition"),
    ("weapons.yaml", "missiles"),
    ("weapons.yaml", "ballistic missiles"),
    ("weapons.yaml", "attack drones"),
    ("weapons.yaml", "arms deliveries"),
    ("terms.yaml", "military equipment"),
    ("transfers.yaml", "supply"),
    ("transfers.yaml", "receive"),
    ("evasion.yaml", "designation"),
    ("terms.yaml", "export controls"),
    ("terms.yaml", "dual-use goods"),
    ("terms.yaml", "microelectronics"),
    ("terms.yaml", "CNC machine tools"),
    ("terms.yaml", "seizure"),
    ("evasion.yaml", "ship-to-ship transfer"),
    ("evasion.yaml", "shadow fleet"),
]
# Languages the issue names; each term group must cover all but a few of them.
REQUIRED = set(
    "en ru uk be pl cs sk de fr es it pt ro bg mk sr hr sq el et lv lt fi sv nl tr ar fa he hi "
    "ur zh ja ko vi id ms ka hy az kk".split()
)


def _raw_entry(file: str, name: str) -> dict[str, object]:
    data = yaml.safe_load((REPO / "watchlists" / file).read_text(encoding="utf-8"))
    for raw in data["entries"]:
        if raw["name"] == name:
            return dict(raw)
    raise AssertionError(f"{file}: no entry {name!r}")


@pytest.mark.parametrize("file,name", TERM_GROUPS, ids=[n for _f, n in TERM_GROUPS])
def test_term_group_covers_30_languages(file: str, name: str) -> None:
    by_lang = aliases_by_lang(_raw_entry(file, name).get("aliases_by_lang"), f"{file}: {name}")
    assert len(by_lang) >= MIN_TERM_LANGUAGES, sorted(by_lang)
    assert len(REQUIRED - set(by_lang)) <= 2, sorted(REQUIRED - set(by_lang))


def test_language_tagged_aliases_reach_the_entry() -> None:
    entries = {e.name: e for e in load_watchlists(REPO / "watchlists")}
    assert "瀬取り" in entries["ship-to-ship transfer"].aliases
    assert "yaptırım" in entries["designation"].aliases
    assert "پهپاد" in entries["attack drones"].aliases
    assert "数控机床" in entries["CNC machine tools"].aliases


RULES = load_rules(REPO / "rules")


@pytest.mark.parametrize("rule", RULES, ids=[r.name for r in RULES])
def test_rule_examples_in_three_languages(rule) -> None:  # type: ignore[no-untyped-def]
    for fire in (True, False):
        langs = {e.lang for e in rule.examples if e.should_fire is fire}
        assert "" not in langs, f"{rule.name}: an example without a language tag"
        assert len(langs) >= MIN_EXAMPLE_LANGUAGES, (rule.name, fire, sorted(langs))
