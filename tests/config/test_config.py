"""Config loading: resolution order, defaults, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from sanctionwatch.config.settings import DEMO_FEED, load_settings
from sanctionwatch.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sw.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_builtin_defaults_poll_the_demo_feed(tmp_path: Path) -> None:
    s = load_settings(None, env={}, cwd=tmp_path)
    assert s.demo and s.config_path is None
    assert [f.url for f in s.feeds] == [str(DEMO_FEED)]
    assert DEMO_FEED.is_file()
    assert s.slack.dry_run and s.database == tmp_path / "sanctionwatch.db"
    assert s.watchlists.is_dir() and s.rules.is_dir()


def test_full_config_and_relative_paths(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
database = "data/sw.db"
watchlists = "wl"
backfill_days = 5
[slack]
api_url = "http://127.0.0.1:9/api"
default_channel = "#alerts"
export_weekday = "Friday"
export_time = "17:30"
admins = ["U123"]
[[feeds]]
name = "Local"
url = "feeds/a.xml"
interval_minutes = 5
[[feeds]]
name = "Remote"
url = "https://example.org/rss"
""",
    )
    s = load_settings(str(path), env={"SLACK_BOT_TOKEN": "xoxb-1"}, cwd=Path("/"))
    assert s.database == tmp_path / "data/sw.db"
    assert s.watchlists == tmp_path / "wl"
    assert s.backfill_days == 5 and not s.demo
    assert s.slack.api_url == "http://127.0.0.1:9/api/"
    assert s.slack.export_weekday == "friday" and s.slack.admins == ("U123",)
    assert s.slack.token == "xoxb-1" and not s.slack.dry_run
    assert [f.url for f in s.feeds] == [str(tmp_path / "feeds/a.xml"), "https://example.org/rss"]


def test_env_overrides_api_url_and_finds_config(tmp_path: Path) -> None:
    path = write(tmp_path, '[slack]\napi_url = "https://slack.com/api/"\n')
    env = {"SANCTIONWATCH_CONFIG": str(path), "SLACK_API_URL": "http://127.0.0.1:1/api/"}
    s = load_settings(None, env=env, cwd=Path("/"))
    assert s.config_path == path and s.slack.api_url == "http://127.0.0.1:1/api/"
    # a config file without feeds means no feeds (not the demo)
    assert s.feeds == () and not s.demo


def test_cwd_config_is_found(tmp_path: Path) -> None:
    (tmp_path / "sanctionwatch.toml").write_text("backfill_days = 1\n", encoding="utf-8")
    assert load_settings(None, env={}, cwd=tmp_path).backfill_days == 1


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("colour = 1\n", "unknown key 'colour'"),
        ("backfill_days = 'three'\n", "'backfill_days' must be an integer"),
        ("backfill_days = true\n", "'backfill_days' must be an integer"),
        ("[slack]\nchanel = '#x'\n", "unknown key 'slack.chanel'"),
        ("[slack]\nexport_weekday = 'someday'\n", "slack.export_weekday"),
        ("[slack]\nexport_time = '25:00'\n", "slack.export_time"),
        ("[slack]\napi_url = 'ftp://x'\n", "slack.api_url"),
        ("[[feeds]]\nname = 'A'\n", "missing key 'url'"),
        (
            "[[feeds]]\nname = 'A'\nurl = 'x.xml'\nintervall = 3\n",
            "unknown key 'feeds[1].intervall'",
        ),
        ("[[feeds]]\nname='A'\nurl='a'\n[[feeds]]\nname='A'\nurl='b'\n", "duplicate feed name"),
        ("[[feeds]]\nname='A'\nurl='gopher://x'\n", "feeds[1].url"),
        (
            "[fetch]\nmax_bytes = 0\n",
            "'fetch.max_bytes' must be between 1024 and 1073741824, got 0",
        ),
        ("this is = = not toml\n", "invalid TOML"),
    ],
)
def test_bad_config_names_file_and_key(tmp_path: Path, text: str, needle: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_settings(str(path), env={}, cwd=tmp_path)
    assert needle in str(err.value)
    assert str(path) in str(err.value)
    assert err.value.exit_code == 2


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(str(tmp_path / "nope.toml"), env={}, cwd=tmp_path)
    with pytest.raises(ConfigError, match="SANCTIONWATCH_CONFIG"):
        load_settings(None, env={"SANCTIONWATCH_CONFIG": str(tmp_path / "x")}, cwd=tmp_path)
