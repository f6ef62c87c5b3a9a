"""`match`, `check`, `feeds`, `status` through the real CLI entry point."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sanctionwatch.config.settings import DEFAULT_RULES, DEFAULT_WATCHLISTS
from tests.support.paths import REPO
from tests.support.pipeline import run_cli

TEXT = "Kim Jong-un met Vladimir Putin; North Korea sends artillery shells to Russia."


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for var in ("SANCTIONWATCH_CONFIG", "SLACK_BOT_TOKEN"):
        monkeypatch.delenv(var, raising=False)


def test_match_json_offsets_point_into_the_input(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text(TEXT, encoding="utf-8")
    code, out = run_cli(["match", str(path), "--json"])
    assert code == 0
    result = json.loads(out)
    assert set(result) == {"matches", "alerts"}
    entities = {m["entity"] for m in result["matches"]}
    assert {"Kim Jong Un", "North Korea", "Russia"} <= entities
    for m in result["matches"]:
        assert {"entity", "watchlist", "alias", "text", "field", "start", "end", "score"} <= set(m)
        assert TEXT[m["start"] : m["end"]] == m["text"] and m["field"] == "text"
    rules = {a["rule"] for a in result["alerts"]}
    assert "dprk-russia-arms-transfer" in rules
    assert all({"rule", "severity", "channel"} <= set(a) for a in result["alerts"])


def test_match_jsonl_keeps_ids_and_fields(tmp_path: Path) -> None:
    lines = [
        {"id": "a", "title": "North Korea ships shells", "text": "They went to Russia by rail."},
        {"id": 7, "title": "Wagner's Ring at Bayreuth", "text": "Richard Wagner's opera."},
    ]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(json.dumps(x) for x in lines) + "\n\n", encoding="utf-8")
    code, out = run_cli(["match", str(src), "--jsonl"])
    assert code == 0
    results = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in results] == ["a", 7]
    first = results[0]
    fields = {m["entity"]: m["field"] for m in first["matches"]}
    assert fields["North Korea"] == "title" and fields["Russia"] == "text"
    for m in first["matches"]:
        source = lines[0][m["field"]]
        assert source[m["start"] : m["end"]] == m["text"]
    assert first["alerts"] and not results[1]["alerts"]


def test_match_jsonl_bad_line_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": 1, "text": "ok"}\nnot json\n', encoding="utf-8")
    code, _ = run_cli(["match", str(src), "--jsonl"])
    assert code == 1
    assert "line 2" in capsys.readouterr().err


def test_match_human_explains_quiet_and_fired(tmp_path: Path) -> None:
    path = tmp_path / "quiet.txt"
    path.write_text("South Korea's chip exports hit a record.", encoding="utf-8")
    code, out = run_cli(["match", str(path)])
    assert code == 0 and "No rule fired" in out
    assert "quiet] rule dprk-russia-arms-transfer" in out
    path.write_text(TEXT, encoding="utf-8")
    code, out = run_cli(["match", str(path)])
    assert "FIRED] rule dprk-russia-arms-transfer" in out
    assert "via alias" in out and "score" in out


def test_match_reads_stdin() -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "bot.py"), "match", "-", "--json", "-q"],
        input="КНДР передала России снаряды",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert {m["entity"] for m in json.loads(proc.stdout)["matches"]} >= {"North Korea", "Russia"}


def test_check_passes_on_defaults_and_fails_on_a_broken_example(tmp_path: Path) -> None:
    code, out = run_cli(["check"])
    assert code == 0 and "rule examples:" in out and "FAIL" not in out
    rules = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES, rules)
    (rules / "extra.yaml").write_text(
        "name: impossible\nseverity: low\nall:\n  - tags: [dprk]\n"
        'examples:\n  fire: ["Nothing relevant here at all.", "Still nothing."]\n'
        '  quiet: ["Quiet text.", "Also quiet."]\n',
        encoding="utf-8",
    )
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'rules = "{rules}"\nwatchlists = "{DEFAULT_WATCHLISTS}"\n', encoding="utf-8")
    code, out = run_cli(["check", "--config", str(cfg)])
    assert code == 1
    assert "FAIL" in out and "impossible" in out and "Nothing relevant" in out


def test_status_and_feeds_on_demo(tmp_path: Path) -> None:
    code, out = run_cli(["feeds"])
    assert code == 0 and "Demo feed" in out and "last fetch:   never" in out
    assert run_cli(["run", "--once"])[0] == 0
    code, out = run_cli(["status"])
    assert code == 0, out
    assert "1 healthy, 0 failing" in out and "pending delivery: 0" in out
    code, out = run_cli(["feeds", "--json"])
    (row,) = json.loads(out)
    assert row["items_seen"] == 6 and row["alerts"] >= 1 and row["last_error"] is None
