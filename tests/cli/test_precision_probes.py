"""Issue 12's probes as a new user tries them: import a small cut of the real OFAC SDN list
with ``bot.py watchlist import``, then ask ``bot.py match --jsonl`` about each probe text.
The default watchlists and rules are loaded too, as in any real run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.paths import FIXTURES

ROOT = Path(__file__).resolve().parents[2]
SDN = FIXTURES / "lists" / "ofac_precision" / "sdn.csv"
PROBES = {
    "legal-form": ("", "Wuhan Global Sensor Technology supplied sensors to Russia's army."),
    "legal-form-full": ("", "WUHAN GLOBAL SENSOR TECHNOLOGY CO., LTD. was designated."),
    "legal-form-alone": ("Ltd", "The JSC and the Ltd filed their accounts."),
    "dont": ("Don't Panic", "Don't miss the show. Isn't it great?"),
    "title-case": ("Fox News: Justice Editor Resigns", "The Editor said Justice was served."),
    "sberbank": ("Sberbank profits rise", "Sberbank reported higher profits."),
    "sberbank-capital": ("", "Sberbank Capital was sanctioned."),
}


def _bot(env: dict[str, str], cwd: Path, *args: str, stdin: str = "") -> str:
    run = subprocess.run(
        [sys.executable, str(ROOT / "bot.py"), *args],
        input=stdin,
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("precision")
    (tmp / "c.toml").write_text('database = "sw.db"\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "SLACK_BOT_TOKEN"}
    env["SANCTIONWATCH_CONFIG"] = str(tmp / "c.toml")
    env["PYTHONPATH"] = str(ROOT)
    out = _bot(env, tmp, "-q", "watchlist", "import", "--format", "ofac-sdn", str(SDN))
    assert "10 entries" in out, out
    lines = "".join(
        json.dumps({"id": key, "title": title, "text": text}) + "\n"
        for key, (title, text) in PROBES.items()
    )
    got = _bot(env, tmp, "-q", "match", "--jsonl", "-", stdin=lines)
    rows = [json.loads(line) for line in got.splitlines()]
    return {row["id"]: row for row in rows}


def entities(row: dict[str, Any]) -> list[str]:
    return [m["entity"] for m in row["matches"]]


def official(row: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in row["matches"] if m["watchlist"] == "ofac-sdn"]


def test_legal_forms_are_optional(results: dict[str, dict[str, Any]]) -> None:
    (m,) = official(results["legal-form"])
    assert m["entity"] == "WUHAN GLOBAL SENSOR TECHNOLOGY CO., LTD."
    assert m["text"] == "Wuhan Global Sensor Technology" and m["score"] == 100
    (full,) = official(results["legal-form-full"])
    assert full["entity"] == m["entity"] and full["start"] == 0
    assert official(results["legal-form-alone"]) == []


def test_dont_takes_nothing_from_the_list(results: dict[str, dict[str, Any]]) -> None:
    assert official(results["dont"]) == []


def test_title_case_common_words_give_no_candidate(results: dict[str, dict[str, Any]]) -> None:
    row = results["title-case"]
    assert official(row) == []
    assert row["alerts"] == []


def test_sberbank_finds_sberbank_of_russia(results: dict[str, dict[str, Any]]) -> None:
    row = results["sberbank"]
    names = entities(row)
    assert names[0] == "PUBLIC JOINT STOCK COMPANY SBERBANK OF RUSSIA"
    assert names.count(names[0]) == 2  # in the title and in the text
    assert "OPEN JOINT STOCK COMPANY BPS-SBERBANK" not in names
    first = row["matches"][0]
    assert first["alias"] == "PJSC SBERBANK" and first["text"] == "Sberbank"
    assert "ambiguous" in first["detail"] and "JOINT STOCK COMPANY SBERBANK" in first["detail"]
    assert row["alerts"] == []  # a one-word official name alone drives no default rule
    capital = [m["entity"] for m in official(results["sberbank-capital"])]
    assert capital == ["LIMITED LIABILITY COMPANY SBERBANK CAPITAL"]
