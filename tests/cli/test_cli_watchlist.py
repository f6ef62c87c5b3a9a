"""`python bot.py watchlist …` and `serve` argument handling, through cli.main."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import yaml

from sanctionwatch.cli import main as cli
from sanctionwatch.config.settings import REPO_ROOT
from sanctionwatch.watchlists.files import load_watchlist_file
from tests.support.app_harness import ensure_cli_commands

SERVE_START_TIMEOUT_S = 20.0


@pytest.fixture
def config(tmp_path: Path) -> Path:
    ensure_cli_commands()
    path = tmp_path / "sanctionwatch.toml"
    path.write_text('database = "sw.db"\n[[feeds]]\nname = "L"\nurl = "feed.xml"\n')
    return path


def run(config: Path, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = cli.main([*argv, "--config", str(config), "-q"], out=out)
    return code, out.getvalue()


def test_add_list_show_remove_log(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("getpass.getuser", lambda: "carol")
    code, out = run(config, "watchlist", "add", "vessels", "Sky Aries", "--alias", "Скай Овен")
    assert code == 0 and "added 'Sky Aries' to vessels as vessel" in out
    code, out = run(config, "watchlist", "list", "vessels")
    assert "Sky Aries (vessel, added by carol)" in out and "*" not in out
    code, out = run(config, "watchlist", "show", "Скай", "Овен")
    assert "vessels: Sky Aries" in out
    assert run(config, "watchlist", "add", "vessels", "sky aries")[0] == 1  # duplicate
    assert run(config, "watchlist", "remove", "vessels", "Angara")[0] == 1  # file baseline
    assert run(config, "watchlist", "list", "nolist")[0] == 1
    code, out = run(config, "watchlist", "remove", "vessels", "Sky Aries")
    assert code == 0 and "removed 'Sky Aries'" in out
    code, out = run(config, "watchlist", "log")
    lines = out.splitlines()
    assert "carol via cli: watchlist.add list vessels  Sky Aries" in lines[0]
    assert "watchlist.remove" in out and "before:" in out and "after:" in out
    code, out = run(config, "watchlist", "log", "--since", "2999-01-01")
    assert "No changes recorded since 2999-01-01." in out
    code, out = run(config, "watchlist", "log", "--json")
    assert [json.loads(line)["action"] for line in out.splitlines()] == [
        "watchlist.add",
        "watchlist.remove",
    ]


def test_dump_merges_files_and_edits_and_reloads(config: Path, tmp_path: Path) -> None:
    run(config, "watchlist", "add", "vessels", "Sky Aries", "--alias", "SKY-ARIES")
    out_file = tmp_path / "vessels.yaml"
    code, out = run(config, "watchlist", "dump", "vessels", "--out", str(out_file))
    assert code == 0 and "wrote 4 entries" in out
    entries = load_watchlist_file(out_file)  # a valid watchlist file for the pull request
    assert [e.name for e in entries][-1] == "Sky Aries"
    assert {e.name for e in entries} >= {"Angara", "Lady R", "Maia-1"}
    code, out = run(config, "watchlist", "dump", "vessels")
    assert yaml.safe_load(out)["list"] == "vessels"
    assert run(config, "watchlist", "dump", "nolist")[0] == 1


def test_import_prints_summary(config: Path) -> None:
    fixture = REPO_ROOT / "tests/fixtures/lists/ofac/sdn.csv"
    code, out = run(config, "watchlist", "import", "--format", "ofac-sdn", str(fixture))
    assert code == 0 and "ofac-sdn" in out
    code, out = run(config, "watchlist", "list")
    assert "`ofac-sdn`" not in out and "ofac-sdn" in out  # imported entries are listed
    bad = REPO_ROOT / "tests/fixtures/lists/ofac/alt.csv"  # not an SDN file
    assert run(config, "watchlist", "import", "--format", "ofac-sdn", str(bad))[0] == 2


def test_serve_refuses_without_secrets(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    assert run(config, "serve", "--no-poll")[0] == 2
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-x")
    monkeypatch.delenv("SLACK_SIGNING_SECRET", raising=False)
    assert run(config, "serve", "--no-poll")[0] == 2
    monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
    assert run(config, "serve", "--socket-mode", "--no-poll")[0] == 2


def test_serve_process_answers_and_stops_on_sigterm(
    config: Path, slack_api, tmp_path: Path
) -> None:
    """The real `bot.py serve` (waitress) in a subprocess: health check, 401 when unsigned,
    then SIGTERM → exit 0."""
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(REPO_ROOT),
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": "s3cret",
        "SLACK_API_URL": slack_api.base_url,
    }
    script = (
        "import sys\nfrom sanctionwatch.cli import main as cli\nsys.exit(cli.main(sys.argv[1:]))\n"
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            script,
            "serve",
            "--port",
            "0",
            "--host",
            "127.0.0.1",
            "--config",
            str(config),
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "serving Slack requests at http://127.0.0.1:" in line, (
            proc.stderr.read() if proc.poll() is not None else line
        )
        url = line.split(" at ", 1)[1].strip()
        base = url.rsplit("/slack/events", 1)[0]
        health = httpx.get(base + "/healthz", timeout=5)
        assert health.json()["poller"]["state"] == "running"  # JSON since issue 13
        assert (
            httpx.post(url, content=b"command=%2Fwatchlist&text=list", timeout=5).status_code == 401
        )
        time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=SERVE_START_TIMEOUT_S) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serve_socket_mode_opens_a_connection_through_api_url(
    config: Path, slack_api, tmp_path: Path
) -> None:
    """`serve --socket-mode` asks the (configured) Web API for a Socket Mode URL with the app
    token; no public HTTP port is opened; SIGTERM still stops it."""
    app_token = "xapp-1-A1-test"
    slack_api.accepted_tokens = {"xoxb-test-token", app_token}
    opened = threading.Event()

    def connections_open(params: dict) -> dict:
        opened.set()
        return {"ok": True, "url": "ws://127.0.0.1:9/link"}  # nothing listens: connect fails

    slack_api.on("apps.connections.open", connections_open)
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(REPO_ROOT),
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": "s3cret",
        "SLACK_APP_TOKEN": app_token,
        "SLACK_API_URL": slack_api.base_url,
    }
    script = (
        "import sys\nfrom sanctionwatch.cli import main as cli\nsys.exit(cli.main(sys.argv[1:]))\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script, "serve", "--socket-mode", "--no-poll", "--config",
         str(config)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert opened.wait(SERVE_START_TIMEOUT_S), proc.stderr.read() if proc.poll() else ""
        calls = slack_api.calls_to("apps.connections.open")
        assert calls[0].headers.get("authorization") == f"Bearer {app_token}"
        time.sleep(1.0)
        assert proc.poll() is None  # a refused websocket is retried, not fatal
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=SERVE_START_TIMEOUT_S) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_dump_of_every_unchanged_default_list_is_the_file_byte_for_byte(config: Path) -> None:
    from sanctionwatch.config.settings import DEFAULT_WATCHLISTS

    files = sorted(DEFAULT_WATCHLISTS.glob("*.yaml"))
    assert len(files) >= 10
    for path in files:
        name = str(yaml.safe_load(path.read_text(encoding="utf-8")).get("list") or path.stem)
        code, out = run(config, "watchlist", "dump", name)
        assert code == 0, name
        assert out == path.read_text(encoding="utf-8"), f"{name}: dump differs from {path}"


def test_dump_with_an_edit_keeps_description_source_and_order(config: Path) -> None:
    from sanctionwatch.config.settings import DEFAULT_WATCHLISTS

    original = yaml.safe_load((DEFAULT_WATCHLISTS / "vessels.yaml").read_text(encoding="utf-8"))
    run(config, "watchlist", "add", "vessels", "Sky Aries", "--alias", "SKY-ARIES")
    code, out = run(config, "watchlist", "dump", "vessels")
    dumped = yaml.safe_load(out)
    assert list(dumped) == list(original)  # list, source, description, entries: same order
    assert dumped["description"] == original["description"]
    assert dumped["source"] == original["source"]
    assert dumped["entries"][: len(original["entries"])] == original["entries"]
    added = dumped["entries"][-1]
    assert added["name"] == "Sky Aries" and added["aliases"] == ["SKY-ARIES"]
    assert len(dumped["entries"]) == len(original["entries"]) + 1
