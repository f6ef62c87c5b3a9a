"""Command-line conventions (issue 13): global options on either side of the sub-command,
``--json`` read commands print exactly one JSON document, ``-`` is stdout."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.pipeline import run_cli

REPO = Path(__file__).resolve().parents[2]
ALERT_TEXT = "North Korea has shipped millions of artillery shells to Russia, officials say."


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for var in ("SANCTIONWATCH_CONFIG", "SLACK_BOT_TOKEN"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A config elsewhere than the working directory, polling a local feed (undated items,
    so they alert on the first poll)."""
    folder = tmp_path / "etc"
    folder.mkdir()
    (folder / "feed.xml").write_text(
        "<?xml version='1.0'?><rss version='2.0'><channel><title>Local</title>"
        "<link>https://example.org/</link><description>t</description>"
        f"<item><guid isPermaLink='false'>a1</guid><title>Arms</title>"
        f"<description>{ALERT_TEXT}</description></item></channel></rss>",
        encoding="utf-8",
    )
    path = folder / "sw.toml"
    path.write_text(
        'database = "sw.db"\n[[feeds]]\nname = "Local"\nurl = "feed.xml"\n', encoding="utf-8"
    )
    return path


def _bot(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": str(cwd)}
    return subprocess.run(
        [sys.executable, str(REPO / "bot.py"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_status_json_and_check_json_print_one_document_each(config: Path) -> None:
    assert run_cli(["run", "--once", "--config", str(config)])[0] == 0
    code, out = run_cli(["status", "--json", "--config", str(config)])
    status = json.loads(out)  # the whole of stdout is one document
    assert status["feeds"]["total"] == 1 and status["feeds"]["failing"] == []
    assert status["alerts"]["pending"] == 0 and status["alerts"]["failed"] == []
    assert status["ok"] is True and code == 0
    code, out = run_cli(["--config", str(config), "check", "--json"])
    check = json.loads(out)
    assert code == 0 and check["ok"] is True
    assert check["config"] == str(config) and check["feeds"] == 1
    assert check["examples"]["total"] == check["examples"]["passed"] > 0
    assert check["watchlists"]["entries"] > 50


def test_global_options_work_on_either_side_of_the_subcommand(config: Path, tmp_path: Path) -> None:
    db = config.parent / "sw.db"
    before = _bot("--config", str(config), "-q", "run", "--once", cwd=tmp_path)
    assert before.returncode == 0, before.stderr
    assert db.is_file()  # the config given before `run` was the one used
    assert "dprk-russia-arms-transfer" in before.stdout
    assert "level=INFO" not in before.stderr  # -q before the sub-command
    after = _bot("status", "--config", str(config), "-q", cwd=tmp_path)
    assert after.returncode == 0, after.stderr
    assert "feeds: 1 healthy, 0 failing" in after.stdout
    logs = _bot("--log-json", "watchlist", "list", "--config", str(config), cwd=tmp_path)
    assert logs.returncode == 0, logs.stderr
    lines = [json.loads(line) for line in logs.stderr.splitlines() if line.strip()]
    assert lines and all("level" in line and "logger" in line for line in lines)
    nested = _bot("watchlist", "-q", "list", "--json", "--config", str(config), cwd=tmp_path)
    assert nested.returncode == 0, nested.stderr
    assert "dprk" in {row["list"] for row in json.loads(nested.stdout)}
    bad = _bot("--config", str(tmp_path / "missing.toml"), "check", cwd=tmp_path)
    assert bad.returncode == 2 and "missing.toml" in bad.stderr


def test_export_out_dash_writes_the_csv_to_stdout(config: Path, tmp_path: Path) -> None:
    assert run_cli(["run", "--once", "--config", str(config)])[0] == 0
    code, out = run_cli(
        ["export", "--since", "2000-01-01", "--until", "2100-01-01", "--out", "-"]
        + ["--config", str(config)]
    )
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows and rows[0]["rule"] and rows[0]["title"]
    assert not (tmp_path / "-").exists() and not (config.parent / "-").exists()
    code, _ = run_cli(["status", "--json", "--config", str(config)])
    status = json.loads(run_cli(["status", "--json", "--config", str(config)])[1])
    assert status["last_export"] is None  # a stream is not recorded as the week's export


def test_watchlist_list_and_show_json(config: Path) -> None:
    code, out = run_cli(["watchlist", "list", "--json", "--config", str(config)])
    lists = json.loads(out)
    assert code == 0 and {"list", "entries"} == set(lists[0])
    assert "dprk" in {row["list"] for row in lists}
    code, out = run_cli(["watchlist", "list", "dprk", "--json", "--config", str(config)])
    dprk = json.loads(out)
    assert dprk["list"] == "dprk" and any(e["name"] == "Kim Jong Un" for e in dprk["entries"])
    code, out = run_cli(["watchlist", "show", "Kim", "Jong", "Un", "--json"])
    shown = json.loads(out)
    assert shown["name"] == "Kim Jong Un" and shown["entries"][0]["list"] == "dprk"
    code, out = run_cli(["alerts", "--json", "--config", str(config)])
    assert json.loads(out) == {"waiting": 0, "failed": 0}


def test_first_run_summary_says_what_backfill_held_back(tmp_path: Path) -> None:
    demo = REPO / "sanctionwatch" / "defaults" / "demo_feed.xml"  # items dated 2024
    config = tmp_path / "sw.toml"
    config.write_text(
        f'database = "sw.db"\nbackfill_days = 1\n[[feeds]]\nname = "Demo"\nurl = "{demo}"\n',
        encoding="utf-8",
    )
    run = _bot("run", "--once", "--config", str(config), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "0 alerts queued" in run.stderr
    assert "feed 'Demo': first poll; backfill held back 3 matching item(s)" in run.stderr
    assert "held_back=3" in run.stderr  # the per-feed log line carries it as a field
    logged = _bot(
        "--log-json", "run", "--once", "--all-feeds", "--config", str(config), cwd=tmp_path
    )
    summary = [json.loads(x) for x in logged.stderr.splitlines() if '"run summary"' in x]
    assert summary and summary[0]["held_back"] == 0  # not a first poll any more
    # --log-json: every line is one JSON object with real fields, not key=value inside msg
    lines = [json.loads(x) for x in logged.stderr.splitlines() if x.strip()]
    polled = [x for x in lines if x.get("event") == "feed polled"]
    assert polled and polled[0]["feed"] == "Demo" and polled[0]["status"] in (200, 304)
    assert polled[0]["first_poll"] is False and polled[0]["held_back"] == 0
