"""Warm engines: the CLI loads the built engine from its file instead of rebuilding it; an
edited watchlist rebuilds it; a damaged file is rebuilt with a warning, never a crash."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sanctionwatch.config.settings import DEFAULT_RULES, DEFAULT_WATCHLISTS
from sanctionwatch.matching.enginestore import load_engine
from tests.support.pipeline import run_cli

TEXT = "Kim Jong-un met Vladimir Putin; North Korea sends artillery shells to Russia."


@pytest.fixture()
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for var in ("SANCTIONWATCH_CONFIG", "SLACK_BOT_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    (tmp_path / "watchlists").mkdir()
    for name in ("dprk.yaml", "russia.yaml"):  # two lists: each build stays quick
        shutil.copy(DEFAULT_WATCHLISTS / name, tmp_path / "watchlists" / name)
    shutil.copytree(DEFAULT_RULES, tmp_path / "rules")
    (tmp_path / "t.txt").write_text(TEXT, encoding="utf-8")
    path = tmp_path / "sw.toml"
    path.write_text('database = "sw.db"\nwatchlists = "watchlists"\nrules = "rules"\n')
    return path


def _match(config: Path, capsys: pytest.CaptureFixture[str]) -> tuple[set[str], str]:
    """Entities matched, and the log lines of the run (key=value lines on stderr)."""
    capsys.readouterr()
    code, out = run_cli(["-v", "--config", str(config), "match", "t.txt", "--json"])
    assert code == 0
    return {m["entity"] for m in json.loads(out)["matches"]}, capsys.readouterr().err


def test_second_run_loads_the_engine_and_an_edit_rebuilds_it(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stored = config.parent / "sw.db.engine"
    first, logs = _match(config, capsys)
    assert stored.exists() and 'event="engine cache written"' in logs
    assert 'event="engine built"' in logs
    assert not (config.parent / "sw.db").exists()  # match still creates no database

    second, logs = _match(config, capsys)
    assert second == first and "Kim Jong Un" in second
    assert 'event="engine cache loaded"' in logs
    assert 'event="engine built"' not in logs

    # an analyst adds an entry to a watchlist file: the stored engine is stale
    extra = config.parent / "watchlists" / "zz-extra.yaml"
    extra.write_text(
        "list: extra\nentries:\n  - name: Vladimir Putin\n    type: person\n    aliases: [Putin]\n",
        encoding="utf-8",
    )
    third, logs = _match(config, capsys)
    assert 'event="engine built"' in logs
    assert 'event="engine cache stale"' in logs
    assert {"Kim Jong Un", "Vladimir Putin"} <= third


def test_a_damaged_engine_file_is_rebuilt_with_a_warning(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stored = config.parent / "sw.db.engine"
    first, _ = _match(config, capsys)
    data = stored.read_bytes()
    stored.write_bytes(data[: len(data) // 3])  # truncated, as by a full disk
    second, logs = _match(config, capsys)
    assert second == first
    assert (
        'level=WARNING logger=sanctionwatch.matching.enginestore event="engine cache unreadable"'
        in logs
    )
    assert 'event="engine built"' in logs
    stored.write_bytes(b"not a pickle at all")
    assert load_engine(stored, "x") is None
    third, logs = _match(config, capsys)  # rebuilt and rewritten, then loaded again
    fourth, logs = _match(config, capsys)
    assert third == fourth == first and 'event="engine cache loaded"' in logs
