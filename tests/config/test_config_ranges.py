"""Config that passes `check` must not break runs: every number has a range, enforced at load
(so `check` and `run` exit 2 naming the file, the key and the range), and the README's table
of ranges is the table the code enforces."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sanctionwatch.alerting.nextpoll import next_poll
from sanctionwatch.config import settings as config
from sanctionwatch.config.lists import LIST_KEYS
from sanctionwatch.config.ranges import RANGES, markdown_table, preflight
from sanctionwatch.config.settings import (
    FeedConfig,
    FetchSettings,
    PollSettings,
    SlackSettings,
    default_for,
    load_settings,
)
from sanctionwatch.errors import ConfigError
from sanctionwatch.ingest.fetch import FetchState, fetch
from tests.support.feedserver import FeedServer
from tests.support.paths import REPO
from tests.support.pipeline import run_cli

FEEDS = "[[feeds]]\nname = 'A'\nurl = 'a.xml'\n[[feeds]]\nname = 'B'\nurl = 'b.xml'\n"
SPECS = {
    "": config._TOP_KEYS,
    "slack": config._SLACK_KEYS,
    "fetch": config._FETCH_KEYS,
    "poll": config._POLL_KEYS,
    "feeds": config._FEED_KEYS,
    "lists": LIST_KEYS,
}


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for var in ("SANCTIONWATCH_CONFIG", "SLACK_BOT_TOKEN", "SLACK_API_URL"):
        monkeypatch.delenv(var, raising=False)


# A [[lists]] table for the lists.* keys (the file need not exist to load the settings).
LIST_TABLE = "[[lists]]\nname = 'L'\nformat = 'ofac-sdn'\nurl = 'sdn.csv'\n"


def toml_for(name: str, value: str) -> str:
    """A config setting ``name`` ("section.key") to ``value``; feed keys go on the 2nd feed."""
    section, _, key = name.rpartition(".")
    if section == "":
        return f"{key} = {value}\n{FEEDS}"
    if section == "feeds":
        return f"{FEEDS}{key} = {value}\n"
    if section == "lists":
        return f"{FEEDS}{LIST_TABLE}{key} = {value}\n"
    return f"{FEEDS}[{section}]\n{key} = {value}\n"


def shown_key(name: str) -> str:
    section, _, key = name.rpartition(".")
    if section == "lists":
        return f"lists[1].{key}"
    return f"feeds[2].{key}" if section == "feeds" else name


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sanctionwatch.toml"
    path.write_text(text, encoding="utf-8")
    return path


def assert_refused(tmp_path: Path, text: str, needle: str, capsys: pytest.CaptureFixture) -> None:
    """Both load_settings and `bot.py check` refuse the config with exit 2 and the message."""
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_settings(str(path), env={}, cwd=tmp_path)
    assert err.value.exit_code == 2
    assert f"{path}: {needle}" in err.value.message
    capsys.readouterr()
    code, out = run_cli(["check", "--config", str(path)])
    stderr = capsys.readouterr().err
    assert code == 2, stderr
    assert f"error: {path}: {needle}" in stderr
    assert "ok" not in out  # nothing was declared fine before the error


# The values from the issue, each of which passed `check` before and broke or silently
# changed every run.
ISSUE_CASES = [
    (
        "feeds.interval_minutes",
        "9223372036854775807",
        "must be between 1 and 10080, got 9223372036854775807",
    ),
    ("backfill_days", "100000000", "must be between 0 and 365, got 100000000"),
    ("feeds.backfill_days", "-5", "must be between 0 and 365, got -5"),
    ("fetch.total_timeout_s", "nan", "must be greater than 0 and at most 3600, got nan"),
    ("fetch.total_timeout_s", "inf", "must be greater than 0 and at most 3600, got inf"),
    ("fetch.connect_timeout_s", "-inf", "must be greater than 0 and at most 3600, got -inf"),
    ("fetch.max_bytes", "1e18", "must be an integer, got 1e+18"),
    (
        "fetch.max_bytes",
        "1000000000000000000",
        "must be between 1024 and 1073741824, got 1000000000000000000",
    ),
    ("slack.max_retries", "-1", "must be between 0 and 10, got -1"),
    ("slack.max_retries", "nan", "must be an integer, got nan"),
    ("slack.retry_after_cap_s", "-1", "must be between 0 and 3600, got -1"),
    ("slack.retry_after_cap_s", "nan", "must be between 0 and 3600, got nan"),
    ("poll.jitter_s", "-0.5", "must be between 0 and 3600, got -0.5"),
    ("poll.jitter_s", "nan", "must be between 0 and 3600, got nan"),
    ("max_delist_fraction", "nan", "must be between 0 and 1, got nan"),
    ("max_delist_fraction", "1.5", "must be between 0 and 1, got 1.5"),
    ("retention_days", "0", "must be between 1 and 36500, got 0"),
    ("poll.max_workers", "0", "must be between 1 and 256, got 0"),
    ("fetch.max_items", "1.0", "must be an integer, got 1.0"),
]


@pytest.mark.parametrize(("name", "value", "message"), ISSUE_CASES)
def test_bad_numbers_from_the_issue_exit_2_naming_key_and_range(
    tmp_path: Path, capsys: pytest.CaptureFixture, name: str, value: str, message: str
) -> None:
    needle = f"key '{shown_key(name)}' {message}"
    assert_refused(tmp_path, toml_for(name, value), needle, capsys)


def test_run_refuses_the_config_before_touching_the_database(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path = write(tmp_path, toml_for("feeds.interval_minutes", "9223372036854775807"))
    code, _ = run_cli(["run", "--once", "--config", str(path)])
    assert code == 2
    assert "'feeds[2].interval_minutes' must be between 1 and 10080" in capsys.readouterr().err
    assert not (tmp_path / "sanctionwatch.db").exists()


# The ranges the issue fixes (low, high, low excluded); the others are the table's own choice.
ISSUE_RANGES = {
    "feeds.interval_minutes": (1, 10080, False),
    "backfill_days": (0, 365, False),
    "feeds.backfill_days": (0, 365, False),
    "fetch.connect_timeout_s": (0, 3600, True),
    "fetch.total_timeout_s": (0, 3600, True),
    "fetch.max_bytes": (1024, 1024**3, False),
    "fetch.max_redirects": (0, 20, False),
    "fetch.max_items": (1, 100_000, False),
    "slack.max_retries": (0, 10, False),
    "slack.retry_after_cap_s": (0, 3600, False),
    "poll.jitter_s": (0, 3600, False),
    "poll.max_workers": (1, 256, False),
    "poll.per_host": (1, 64, False),
    "poll.failure_report_after": (1, 1000, False),
    "max_delist_fraction": (0, 1, False),
}


def test_ranges_are_the_issues() -> None:
    for name, (low, high, exclusive) in ISSUE_RANGES.items():
        rng = RANGES[name]
        assert (rng.low, rng.high, rng.low_exclusive) == (low, high, exclusive), name
    assert RANGES["poll.backoff_max_minutes"].high in (10080, 43200)
    assert RANGES["retention_days"].low >= 1 and RANGES["match_retention_days"].low >= 1


def test_every_number_in_the_config_has_a_range() -> None:
    numeric = {
        (f"{section}.{key}" if section else key)
        for section, spec in SPECS.items()
        for key, kind in spec.items()
        if kind in (int, (int, float))
    }
    assert numeric == set(RANGES)
    for rng in RANGES.values():
        assert rng.unit and rng.why and rng.low < rng.high


def _bounds(name: str) -> tuple[list[str], list[str]]:
    """Values just inside and just outside the range of ``name``, as TOML text."""
    rng = RANGES[name]
    section, _, key = name.rpartition(".")
    is_int = SPECS[section][key] is int
    step = 1 if is_int else 0.001
    inside = [repr(rng.high), repr(rng.low + step if rng.low_exclusive else rng.low)]
    outside = [repr(rng.high + step), repr(rng.low if rng.low_exclusive else rng.low - step)]
    return inside, outside


@pytest.mark.parametrize("name", sorted(RANGES))
def test_each_range_accepts_its_bounds_and_refuses_one_step_beyond(
    tmp_path: Path, name: str
) -> None:
    inside, outside = _bounds(name)
    section, _, key = name.rpartition(".")
    for value in inside:
        s = load_settings(str(write(tmp_path, toml_for(name, value))), env={}, cwd=tmp_path)
        holder = {"": s, "slack": s.slack, "fetch": s.fetch, "poll": s.poll, "feeds": s.feeds[1]}
        holder["lists"] = s.lists[0] if s.lists else None
        assert getattr(holder[section], key) == pytest.approx(float(value)), (name, value)
    for value in outside:
        path = write(tmp_path, toml_for(name, value))
        with pytest.raises(ConfigError, match=re.escape(f"key '{shown_key(name)}' must be")):
            load_settings(str(path), env={}, cwd=tmp_path)


def test_check_passes_a_config_with_every_number_at_its_upper_bound(tmp_path: Path) -> None:
    sections: dict[str, list[str]] = {"": [], "slack": [], "fetch": [], "poll": [], "lists": []}
    feed_lines: list[str] = []
    for name, rng in RANGES.items():
        section, _, key = name.rpartition(".")
        (feed_lines if section == "feeds" else sections[section]).append(f"{key} = {rng.high!r}")
    feed = (REPO / "sanctionwatch" / "defaults" / "demo_feed.xml").as_posix()
    text = "\n".join(sections[""]) + f"\n[[feeds]]\nname = 'A'\nurl = '{feed}'\n"
    text += "\n".join(feed_lines) + "\n"
    for section in ("slack", "fetch", "poll"):
        text += f"[{section}]\n" + "\n".join(sections[section]) + "\n"
    text += LIST_TABLE + "\n".join(sections["lists"]) + "\n"
    path = write(tmp_path, text)
    code, out = run_cli(["check", "--config", str(path)])
    assert code == 0, out
    assert f"config: {path} ok (1 feeds)" in out
    s = load_settings(str(path), env={}, cwd=tmp_path)
    assert s.feeds[0].interval_minutes == 10080 and s.fetch.max_bytes == 1024**3
    # and what run computes from them stays representable
    now = datetime.now(UTC)
    assert next_poll(s.feeds[0], s, 10_000, now, None) == now + timedelta(minutes=43200)


def test_readme_table_is_the_enforced_table() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    found = re.search(r"<!-- ranges:start -->\n(.*?)\n<!-- ranges:end -->", readme, re.S)
    assert found, "README.md lost its ranges table markers"
    assert found.group(1) == markdown_table(default_for), (
        "README ranges table is stale: paste the output of python -m sanctionwatch.config.ranges"
    )


def test_defaults_come_from_the_dataclasses(tmp_path: Path) -> None:
    s = load_settings(str(write(tmp_path, FEEDS)), env={}, cwd=tmp_path)
    assert s.fetch == FetchSettings() and s.poll == PollSettings()
    assert replace(s.slack, api_url=SlackSettings().api_url) == SlackSettings()
    assert s.feeds[0].interval_minutes == FeedConfig("x", "y").interval_minutes
    assert s.feeds[0].backfill_days is None
    assert (s.backfill_days, s.retention_days, s.log_level) == (3, 90, "INFO")
    assert default_for("fetch.max_bytes") == 10 * 1024 * 1024
    assert default_for("feeds.interval_minutes") == 15
    # numbers given as integers where a float is allowed are stored as floats
    s = load_settings(
        str(write(tmp_path, "max_delist_fraction = 1\n[poll]\njitter_s = 5\n")),
        env={},
        cwd=tmp_path,
    )
    assert isinstance(s.max_delist_fraction, float) and isinstance(s.poll.jitter_s, float)


def test_preflight_names_the_key_a_run_could_not_schedule(tmp_path: Path) -> None:
    """Values set in code bypass the ranges; the date arithmetic still catches them."""
    s = load_settings(str(write(tmp_path, FEEDS)), env={}, cwd=tmp_path)
    now = datetime.now(UTC)
    bad_feed = replace(s, feeds=(s.feeds[0], replace(s.feeds[1], interval_minutes=10**15)))
    with pytest.raises(ConfigError, match=r"key 'feeds\[2\]\.interval_minutes' cannot be used"):
        preflight(bad_feed, "x.toml", now)
    bad_backfill = replace(s, feeds=(replace(s.feeds[0], backfill_days=10**9),))
    with pytest.raises(ConfigError, match=r"key 'feeds\[1\]\.backfill_days'"):
        preflight(bad_backfill, "x.toml", now)
    with pytest.raises(ConfigError, match="key 'poll.jitter_s'"):
        preflight(replace(s, poll=replace(s.poll, jitter_s=float("nan"))), "x.toml", now)
    preflight(load_settings(None, env={}, cwd=tmp_path), "built-in defaults", now)  # the demo


def test_backoff_after_thousands_of_failures_stays_at_the_cap(tmp_path: Path) -> None:
    s = load_settings(str(write(tmp_path, FEEDS)), env={}, cwd=tmp_path)
    now = datetime.now(UTC)
    cap = timedelta(minutes=s.poll.backoff_max_minutes)
    assert next_poll(s.feeds[0], s, 5000, now, None) == now + cap
    assert next_poll(s.feeds[0], s, 2, now, None) == now + timedelta(minutes=30)
    assert next_poll(s.feeds[0], s, 1, now, 99999999999999.0) == now + cap  # hostile Retry-After
    assert next_poll(s.feeds[0], s, 1, now, 3600.0) == now + timedelta(hours=1)


def test_check_refuses_a_database_run_could_not_create(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    (tmp_path / "plain-file").write_text("not a folder", encoding="utf-8")
    path = write(tmp_path, "database = 'plain-file/sw.db'\n" + FEEDS)
    for command in (["check"], ["run", "--once"]):
        code, _ = run_cli([*command, "--config", str(path)])
        err = capsys.readouterr().err
        assert code == 2, (command, err)
        assert "error: cannot create database" in err and "plain-file/sw.db" in err
    (tmp_path / "dir.db").mkdir()
    path = write(tmp_path, "database = 'dir.db'\n" + FEEDS)
    code, _ = run_cli(["check", "--config", str(path)])
    err = capsys.readouterr().err
    assert code == 2 and "database path is a folder" in err and "dir.db" in err


# Strings `run` sends with every request: each of these passed `check` and failed every poll.
STRING_CASES = [
    ("[fetch]\nuser_agent = 'résumé'\n", "key 'fetch.user_agent' must be printable ASCII text"),
    ('[fetch]\nuser_agent = "a\\nX-Evil: 1"\n', "key 'fetch.user_agent' must be printable ASCII"),
    ("[fetch]\nuser_agent = ' '\n", "key 'fetch.user_agent' must be printable ASCII text"),
    ("[[feeds]]\nname = 'A'\nurl = 'https://'\n", "key 'feeds[1].url' has no host: 'https://'"),
    ("[[feeds]]\nname = 'A'\nurl = 'https://x:99999/'\n", "key 'feeds[1].url' is not a valid URL"),
    ("[[feeds]]\nname = 'A'\nurl = 'http://[::1/rss'\n", "key 'feeds[1].url' is not a valid URL"),
    (
        "[[feeds]]\nname = 'A'\nurl = 'http://exa mple.org/rss'\n",
        "key 'feeds[1].url' contains a space or control character",
    ),
    ("[slack]\napi_url = 'http://'\n", "key 'slack.api_url' has no host"),
]


@pytest.mark.parametrize(("text", "needle"), STRING_CASES)
def test_strings_sent_with_every_request_are_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture, text: str, needle: str
) -> None:
    assert_refused(tmp_path, text, needle, capsys)


def test_a_refused_user_agent_would_fail_every_fetch_and_a_good_one_is_sent(
    feed_server: FeedServer,
) -> None:
    """A control character fails every fetch (http.client refuses the header); a non-ASCII
    agent would go out as Latin-1 bytes, which servers read as they please: both refused
    by `check` (STRING_CASES above)."""
    url = feed_server.add(
        "/f.xml", body=(REPO / "sanctionwatch/defaults/demo_feed.xml").read_bytes()
    )
    result = fetch(url, FetchState(), FetchSettings(user_agent="a\nX-Evil: 1"))
    assert result.error is not None and result.error.startswith("HTTP error: Invalid header")
    assert result.body is None
    good = "sanctionwatch-test (+https://example.org/contact)"
    result = fetch(url, FetchState(), FetchSettings(user_agent=good))
    assert result.error is None and result.body
    assert feed_server.requests[-1].headers.get("user-agent") == good
    assert not any("x-evil" in r.headers for r in feed_server.requests)
