"""Every default rule's fire/quiet examples, run through the real Matcher on the real lists."""

from __future__ import annotations

import importlib.util

import pytest

from sanctionwatch.matching.rules import load_rules, run_examples
from sanctionwatch.watchlists.files import load_watchlists
from tests.support.paths import REPO

CHANNEL = "#sanctions-alerts"

needs_matcher = pytest.mark.skipif(
    importlib.util.find_spec("sanctionwatch.matching.matcher") is None,
    reason="sanctionwatch/matcher.py does not exist yet; rule examples need the real matcher",
)


@pytest.fixture(scope="module")
def matcher():  # type: ignore[no-untyped-def]
    from sanctionwatch.matching.matcher import Matcher

    return Matcher.build(load_watchlists(REPO / "watchlists"))


RULES = load_rules(REPO / "rules")


@needs_matcher
@pytest.mark.parametrize("rule", RULES, ids=[r.name for r in RULES])
def test_rule_examples_pass(rule, matcher) -> None:  # type: ignore[no-untyped-def]
    failures = run_examples([rule], matcher, CHANNEL)
    assert not failures, "\n".join(failures)


def test_examples_exist_in_many_languages() -> None:
    texts = " ".join(e.text for r in RULES for e in r.examples if e.should_fire)
    scripts = {
        "cyrillic": any("\u0400" <= c <= "\u04ff" for c in texts),
        "hangul": any("\uac00" <= c <= "\ud7a3" for c in texts),
        "arabic": any("\u0600" <= c <= "\u06ff" for c in texts),
    }
    assert all(scripts.values()), scripts
    for word in (
        "Nordkorea",
        "Corée",
        "Corea del Norte",
        "Corea del Nord",
        "Korea Północna",
        "Україн",
    ):
        if word == "Україн":
            continue  # Ukrainian is checked through Північна/Росії below
        assert word in texts, word
    assert "Північна Корея" in texts and "Росії" in texts
