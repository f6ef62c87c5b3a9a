"""The shipped watchlists and rules on headlines in ten languages, through `match --jsonl`.

Headlines written for this test (not rule examples): the same DPRK/Russia/Iran/Wagner stories
in each language must alert; everyday look-alikes must not.
"""

from __future__ import annotations

import json

import pytest

from tests.support.paths import FIXTURES
from tests.support.pipeline import run_cli

HEADLINES = FIXTURES / "probe" / "headlines.jsonl"
EXPECTED = {
    "en1": "dprk-russia-arms-transfer", "en2": "dprk-troops-in-russia",
    "ru1": "dprk-russia-arms-transfer", "uk1": "dprk-russia-arms-transfer",
    "ko1": "dprk-russia-arms-transfer", "de1": "dprk-russia-arms-transfer",
    "fr1": "dprk-russia-arms-transfer", "es1": "dprk-russia-arms-transfer",
    "it1": "dprk-russia-arms-transfer", "pl1": "dprk-russia-arms-transfer",
    "ar1": "dprk-russia-arms-transfer", "en3": "iran-drones-missiles-to-russia",
    "en4": "dprk-russia-leader-meeting", "en5": "wagner-africa-corps-arms",
}  # fmt: skip
QUIET = {"q1", "q2", "q3", "q4"}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    import os

    old = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("probe"))  # no stray database or config
    try:
        code, out = run_cli(["match", str(HEADLINES), "--jsonl", "-q"])
    finally:
        os.chdir(old)
    assert code == 0
    return {d["id"]: [a["rule"] for a in d["alerts"]] for d in map(json.loads, out.splitlines())}


@pytest.mark.parametrize("hid", sorted(EXPECTED))
def test_story_alerts_in_every_language(results: dict[str, list[str]], hid: str) -> None:
    assert EXPECTED[hid] in results[hid]


@pytest.mark.parametrize("hid", sorted(QUIET))
def test_lookalikes_stay_quiet(results: dict[str, list[str]], hid: str) -> None:
    assert results[hid] == []
