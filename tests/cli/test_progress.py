"""Progress on long work (issue 13): a ``\\r``-rewritten line on stderr when stderr is a
terminal (imports, list refreshes, backtests, exports), nothing at all otherwise, and never a
byte of it on stdout, so ``--json`` and ``--out -`` stay clean."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from sanctionwatch.cli.progress import MIN_INTERVAL_S, Progress
from tests.support.feedserver import FeedServer
from tests.support.paths import FIXTURES
from tests.support.pipeline import run_cli

UN = FIXTURES / "lists" / "un" / "UN.xml"
OFAC = FIXTURES / "lists" / "ofac"
ALERT_TEXT = "North Korea has shipped millions of artillery shells to Russia, officials say."


class FakeTTY(io.StringIO):
    """A terminal as far as ``isatty`` can tell."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for var in ("SANCTIONWATCH_CONFIG", "SLACK_BOT_TOKEN"):
        monkeypatch.delenv(var, raising=False)


def terminal(monkeypatch: pytest.MonkeyPatch) -> FakeTTY:
    """stderr as a terminal. Called in the test body: pytest's capture puts its own stream
    back between a fixture's setup and the test call."""
    stream = FakeTTY()
    monkeypatch.setattr("sys.stderr", stream)
    return stream


@pytest.fixture
def config(tmp_path: Path) -> Path:
    (tmp_path / "feed.xml").write_text(
        "<?xml version='1.0'?><rss version='2.0'><channel><title>Local</title>"
        "<link>https://example.org/</link><description>t</description>"
        "<item><guid isPermaLink='false'>a1</guid><title>Arms</title>"
        f"<description>{ALERT_TEXT}</description></item>"
        "<item><guid isPermaLink='false'>a2</guid><title>Weather</title>"
        "<description>Rain on Sunday.</description></item></channel></rss>",
        encoding="utf-8",
    )
    path = tmp_path / "sw.toml"
    path.write_text(
        'database = "sw.db"\n[[feeds]]\nname = "Local"\nurl = "feed.xml"\n', encoding="utf-8"
    )
    return path


def _ran(config: Path) -> Path:
    code, out = run_cli(["run", "--once", "--config", str(config)])
    assert code == 0, out
    return config


def _last_line(stream: FakeTTY) -> str:
    """What the terminal shows last: the text after the final carriage return."""
    text = stream.getvalue()
    assert text.endswith("\n"), repr(text)
    return text.rstrip("\n").rsplit("\r", 1)[-1].rstrip()


# ---- the helper ----------------------------------------------------------------------------
def test_progress_redraws_in_place_throttled_and_ends_with_a_newline() -> None:
    now = [0.0]
    stream = FakeTTY()
    progress = Progress("work", 1000, unit="items", stream=stream, clock=lambda: now[0])
    for done in range(1, 1001):
        now[0] += MIN_INTERVAL_S / 10  # ten updates per allowed redraw
        progress.update(done)
    progress.finish()
    text = stream.getvalue()
    redraws = text.count("\r")
    assert 90 <= redraws <= 110, redraws  # throttled: about one in ten, not a thousand
    assert _last_line(stream) == "work: 1,000/1,000 items"  # the end is always drawn
    assert text.count("\n") == 1


def test_a_shorter_line_is_padded_over_the_longer_one() -> None:
    stream = FakeTTY()
    progress = Progress("import", stream=stream)
    progress.step("parsing a-very-long-file-name.xml")
    progress.step("done")
    progress.finish()
    first, second = stream.getvalue().split("\r")[1:3]
    assert len(second.rstrip("\n")) == len(first)
    assert second.strip() == "import: done"


def test_without_a_terminal_nothing_is_written() -> None:
    stream = io.StringIO()
    with Progress("work", 3, stream=stream) as progress:
        for done in range(1, 4):
            progress.update(done)
        progress.step("phase")
    assert not progress.enabled
    assert stream.getvalue() == ""


# ---- the commands --------------------------------------------------------------------------
def test_import_shows_its_phases_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, config: Path
) -> None:
    tty = terminal(monkeypatch)
    code, out = run_cli(
        [
            "watchlist",
            "import",
            "--format",
            "un-xml",
            str(UN),
            "--no-announce",
            "--config",
            str(config),
        ]
    )
    assert code == 0, out
    shown = tty.getvalue()
    assert f"\rwatchlist import un-xml: parsing {UN} (" in shown
    assert "entries; comparing and storing" in shown
    total = int(out.split(": ", 1)[1].split(" entries")[0].replace(",", ""))
    assert _last_line(tty) == f"watchlist import un-xml: stored {total:,} entries"
    assert "\r" not in out


def test_import_without_a_terminal_writes_no_progress(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run_cli(
        [
            "watchlist",
            "import",
            "--format",
            "un-xml",
            str(UN),
            "--no-announce",
            "--config",
            str(config),
        ]
    )
    assert code == 0, out
    err = capsys.readouterr().err
    assert "\r" not in err and "comparing and storing" not in err


def test_backtest_json_stdout_stays_json_while_stderr_counts(
    monkeypatch: pytest.MonkeyPatch, config: Path
) -> None:
    _ran(config)
    tty = terminal(monkeypatch)
    code, out = run_cli(["backtest", "--json", "--config", str(config)])
    assert code == 0, out
    rows = [json.loads(line) for line in out.splitlines()]  # every stdout line is JSON
    assert rows and {r["change"] for r in rows} == {"same"}
    assert _last_line(tty) == "backtest: 2/2 items"


def test_export_to_stdout_is_pure_csv_with_progress_on_stderr(
    monkeypatch: pytest.MonkeyPatch, config: Path
) -> None:
    _ran(config)
    tty = terminal(monkeypatch)
    code, out = run_cli(
        [
            "export",
            "--since",
            "2000-01-01",
            "--until",
            "2100-01-01",
            "--out",
            "-",
            "--config",
            str(config),
        ]
    )
    assert code == 0, out
    rows = list(csv.reader(io.StringIO(out)))
    assert len(rows) == 2 and "export:" not in out  # header + the one alert, nothing else
    assert "\rexport: 1/1 alerts" in tty.getvalue()


def test_export_to_a_file_shows_progress(
    monkeypatch: pytest.MonkeyPatch, config: Path, tmp_path: Path
) -> None:
    _ran(config)
    tty = terminal(monkeypatch)
    target = tmp_path / "out.csv"
    code, out = run_cli(
        ["export", "--since", "2000-01-01", "--until", "2100-01-01", "--out", str(target)]
        + ["--config", str(config)]
    )
    assert code == 0, out
    assert _last_line(tty) == "export: 1/1 alerts"
    assert target.exists()


def test_refresh_counts_the_lists(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, feed_server: FeedServer
) -> None:
    tty = terminal(monkeypatch)
    for name in ("sdn.csv", "alt.csv"):
        feed_server.add(f"/{name}", body=(OFAC / name).read_bytes(), content_type="text/csv")
    cfg = tmp_path / "lists.toml"
    cfg.write_text(
        'database = "sw.db"\n[[lists]]\nname = "ofac-sdn"\nformat = "ofac-sdn"\n'
        f'url = "{feed_server.url("/sdn.csv")}"\naliases_url = "{feed_server.url("/alt.csv")}"\n',
        encoding="utf-8",
    )
    code, out = run_cli(["watchlist", "refresh", "--config", str(cfg)])
    assert code == 0, out
    shown = tty.getvalue()
    assert "\rwatchlist refresh: 0/1 lists ofac-sdn: downloading and importing" in shown
    assert _last_line(tty) == "watchlist refresh: 1/1 lists done"
    assert "\r" not in out
