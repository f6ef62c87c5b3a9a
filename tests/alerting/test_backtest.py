"""backtest: after a real run, a new rule file shows "new" items; unchanged rules no "gone"."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sanctionwatch.config.settings import DEFAULT_RULES
from tests.support.feedserver import FeedServer
from tests.support.pipeline import run_cli

RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>News</title>
<item><title>Wagner Group received North Korean rockets</title>
<link>https://news.test/wagner</link><description>The Wagner Group received North Korean
rockets and missiles, the White House said.</description></item>
<item><title>Harvest festival in Minsk</title><link>https://news.test/harvest</link>
<description>Farmers in Belarus celebrated a record potato harvest with music.</description>
</item>
<item><title>Weather</title><link>https://news.test/weather</link>
<description>Rain is expected across the region on Sunday.</description></item>
</channel></rss>"""

NEW_RULE = """name: belarus-anything
description: Any mention of Belarus (a trial rule).
severity: low
all:
  - tags: [belarus]
"""


@pytest.fixture
def setup(tmp_path: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.delenv("SANCTIONWATCH_CONFIG", raising=False)
    rules = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES, rules)
    feed_server.add("/news.xml", body=RSS.encode())
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'database = "sw.db"\nrules = "rules"\n[[feeds]]\nname = "News"\n'
        f'url = "{feed_server.url("/news.xml")}"\n',
        encoding="utf-8",
    )
    code, out = run_cli(["run", "--once", "--config", str(cfg)])
    assert code == 0, out
    return cfg


def _rows(cfg: Path, *extra: str) -> list[dict]:
    code, out = run_cli(["backtest", "--json", "--config", str(cfg), *extra])
    assert code == 0, out
    return [json.loads(line) for line in out.splitlines()]


def test_unchanged_rules_show_same_and_no_gone(setup: Path) -> None:
    rows = _rows(setup)
    assert rows, "the Wagner story alerted during the run"
    assert {r["change"] for r in rows} == {"same"}
    wagner = [r for r in rows if r["link"] == "https://news.test/wagner"]
    assert "wagner-africa-corps-arms" in {r["rule"] for r in wagner}
    assert all(set(r) >= {"link", "title", "rule", "change"} for r in rows)


def test_new_rule_file_shows_new_items(setup: Path) -> None:
    (setup.parent / "rules" / "belarus_anything.yaml").write_text(NEW_RULE, encoding="utf-8")
    rows = _rows(setup)
    new = [r for r in rows if r["change"] == "new"]
    assert [(r["rule"], r["link"]) for r in new] == [
        ("belarus-anything", "https://news.test/harvest")
    ]
    assert not [r for r in rows if r["change"] == "gone"]
    only = _rows(setup, "--rule", "belarus-anything")
    assert {r["rule"] for r in only} == {"belarus-anything"}
    code, out = run_cli(["backtest", "--config", str(setup)])
    assert code == 0 and "NEW   belarus-anything  Harvest festival in Minsk" in out
    assert "3 items: 1 new, 0 gone" in out


def test_removed_rule_shows_gone(setup: Path) -> None:
    (setup.parent / "rules" / "wagner_arms.yaml").unlink()
    rows = _rows(setup)
    gone = [r for r in rows if r["change"] == "gone"]
    assert [(r["rule"], r["link"]) for r in gone] == [
        ("wagner-africa-corps-arms", "https://news.test/wagner")
    ]


def test_since_until_and_unknown_rule(setup: Path) -> None:
    assert _rows(setup, "--since", "2000-01-01", "--until", "2000-01-02") == []
    code, _ = run_cli(["backtest", "--rule", "nope", "--config", str(setup)])
    assert code != 0
