"""Official lists imported through the CLI drive matching and rules, and announce designations."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sanctionwatch.matching.index import compare_tokens
from sanctionwatch.matching.normalize import alias_word, analyse_word
from tests.support.paths import FIXTURES
from tests.support.pipeline import run_cli, slack_env
from tests.support.slack_api import SlackApiStub

FIXTURES = FIXTURES / "lists"


@pytest.fixture
def cfg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.delenv("SANCTIONWATCH_CONFIG", raising=False)
    path = tmp_path / "c.toml"
    path.write_text('database = "sw.db"\n', encoding="utf-8")
    return path


def match_json(cfg: Path, tmp_path: Path, text: str) -> dict:
    src = tmp_path / "t.txt"
    src.write_text(text, encoding="utf-8")
    code, out = run_cli(["match", str(src), "--json", "--config", str(cfg)])
    assert code == 0
    return json.loads(out)


def test_imported_vessel_near_weapons_alerts(cfg: Path, tmp_path: Path) -> None:
    text = "The cargo ship Asia Bridge was seen loading artillery shells at Nampo."
    before = match_json(cfg, tmp_path, text)
    assert "ASIA BRIDGE" not in {m["entity"] for m in before["matches"]}
    code, out = run_cli(
        [
            "watchlist",
            "import",
            "--format",
            "ofac-sdn",
            str(FIXTURES / "ofac" / "sdn.csv"),
            "--config",
            str(cfg),
        ]
    )
    assert code == 0 and "ofac-sdn: 15 entries" in out
    after = match_json(cfg, tmp_path, text)
    hit = [m for m in after["matches"] if m["entity"] == "ASIA BRIDGE"]
    assert hit and hit[0]["watchlist"] == "ofac-sdn" and hit[0]["text"] == "Asia Bridge"
    assert "listed-entity-arms-activity" in {a["rule"] for a in after["alerts"]}
    # the same vessel without a weapon nearby: recorded as a match, no alert from that rule
    calm = match_json(cfg, tmp_path, "The cargo ship Asia Bridge docked for repairs.")
    assert any(m["entity"] == "ASIA BRIDGE" for m in calm["matches"])
    assert "listed-entity-arms-activity" not in {a["rule"] for a in calm["alerts"]}


def test_reimport_announces_new_designations(
    cfg: Path, tmp_path: Path, slack_api: SlackApiStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    slack_env(monkeypatch, slack_api.base_url)
    # the fixture pair de-lists 2 of 16 entries: above the default 5 % guard (issue 8)
    cfg.write_text('database = "sw.db"\nmax_delist_fraction = 0.2\n', encoding="utf-8")
    prev = FIXTURES / "ofac_prev" / "sdn.csv"
    code, _ = run_cli(
        ["watchlist", "import", "--format", "ofac-sdn", str(prev), "--config", str(cfg)]
    )
    assert code == 0
    assert slack_api.calls_to("chat.postMessage") == []  # a first import is not news
    code, out = run_cli(
        [
            "watchlist",
            "import",
            "--format",
            "ofac-sdn",
            str(FIXTURES / "ofac" / "sdn.csv"),
            "--config",
            str(cfg),
        ]
    )
    assert code == 0 and "newly designated" in out
    (call,) = slack_api.calls_to("chat.postMessage")
    assert "new designation" in call.params["text"]


def test_bad_list_keeps_the_old_version(
    cfg: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = FIXTURES / "ofac" / "sdn.csv"
    assert (
        run_cli(["watchlist", "import", "--format", "ofac-sdn", str(good), "--config", str(cfg)])[0]
        == 0
    )
    empty = tmp_path / "dl" / "sdn.csv"
    empty.parent.mkdir()
    empty.write_bytes(b"")
    code, _ = run_cli(
        ["watchlist", "import", "--format", "ofac-sdn", str(empty), "--config", str(cfg)]
    )
    assert code == 2
    assert "sdn.csv" in capsys.readouterr().err
    shutil.copy(FIXTURES / "ofac_truncated" / "sdn.csv", empty)
    assert (
        run_cli(["watchlist", "import", "--format", "ofac-sdn", str(empty), "--config", str(cfg)])[
            0
        ]
        == 2
    )
    after = match_json(cfg, tmp_path, "Kim Jong Un inspected the Asia Bridge.")
    assert "ASIA BRIDGE" in {m["entity"] for m in after["matches"]}


def test_abjad_words_only_match_their_own_script() -> None:
    arabic = analyse_word("بيع")  # "sale": transliterates to "by"
    assert arabic.norm != analyse_word("by").norm
    assert arabic.norm == analyse_word("بيع").norm and arabic.exact_only


def test_arabic_clitics_of_a_text_word_are_cut() -> None:
    """A text word offers itself less each clitic it may carry; an alias word keeps its
    first letter (only the article is cut), so the two meet whichever side has "al-"."""
    russia = alias_word(analyse_word("روسيا"))
    for form in ("وروسيا", "لروسيا", "بروسيا", "الروسيا", "وبالروسيا"):  # and / to / in Russia
        assert compare_tokens(russia, analyse_word(form)), form
    assert analyse_word("الشمالية").norm == alias_word(analyse_word("الشمالية")).norm
    assert compare_tokens(alias_word(analyse_word("الشمالية")), analyse_word("والشمالية"))
    belarusian = alias_word(analyse_word("بلاروسی"))  # its ب is not "in"
    assert compare_tokens(belarusian, analyse_word("الروسي")) is None
    # too short to cut: "بيع" (sale) keeps its first letter, so it is not "يع"
    assert analyse_word("بيع").norm != analyse_word("يع").norm
