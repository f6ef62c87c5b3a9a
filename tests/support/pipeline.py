"""Helpers for end-to-end tests: build feeds and configs, run the CLI in-process."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from sanctionwatch.cli.main import main

TOKEN = "xoxb-test-token"


@dataclass(frozen=True)
class FeedItem:
    title: str
    description: str
    link: str | None = None
    guid: str | None = None
    age_hours: float = 1.0


# Real-world-style items: the first three must alert under the default rules, the rest
# are look-alikes that must stay quiet.
ALERTING = [
    FeedItem(
        "North Korea has shipped millions of artillery shells to Russia, Seoul says",
        "South Korea's defence minister said Pyongyang sent about 6,700 containers of "
        "152mm artillery ammunition to Russia since September.",
        "https://news.example.org/a/dprk-shells",
    ),
    FeedItem(
        "Kim Jong Un and Putin sign mutual defence pact in Pyongyang",
        "Russian President Vladimir Putin and North Korean leader Kim Jong-un signed a "
        "strategic partnership treaty pledging military assistance.",
        "https://news.example.org/a/kim-putin",
    ),
    FeedItem(
        "КНДР передала России баллистические ракеты KN-23",
        "По данным украинской разведки, Пхеньян поставил Москве баллистические ракеты KN-23.",
        "https://news.example.org/a/kn23",
    ),
]
QUIET = [
    FeedItem(
        "Wagner's Ring cycle opens the Bayreuth Festival",
        "Richard Wagner's four-opera cycle returned to the Green Hill.",
        "https://news.example.org/a/bayreuth",
    ),
    FeedItem(
        "South Korea's chip exports hit a record",
        "Semiconductor shipments from South Korea rose 38 percent, Seoul said.",
        "https://news.example.org/a/chips",
    ),
    FeedItem(
        "Shell plc beats profit forecasts",
        "The energy company raised its buyback after strong gas trading.",
        "https://news.example.org/a/shell",
    ),
]


def rss(items: Sequence[FeedItem], now: datetime | None = None, title: str = "Test feed") -> bytes:
    now = now or datetime.now(UTC)
    parts = [
        f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>https://news.example.org/</link>"
        "<description>test</description>"
    ]
    for it in items:
        parts.append("<item>")
        parts.append(f"<title>{escape(it.title)}</title>")
        if it.link:
            parts.append(f"<link>{escape(it.link)}</link>")
        if it.guid:
            parts.append(f'<guid isPermaLink="false">{escape(it.guid)}</guid>')
        when = now - timedelta(hours=it.age_hours)
        parts.append(f"<pubDate>{format_datetime(when, usegmt=True)}</pubDate>")
        parts.append(f"<description>{escape(it.description)}</description>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")


def write_config(tmp_path: Path, feeds: Sequence[tuple[str, str]], extra: str = "") -> Path:
    lines = [
        'database = "sw.db"',
        'exports_dir = "exports"',
        extra,
        "[slack]",
        'default_channel = "#sanctions-alerts"',
        'ops_channel = "#ops"',
    ]
    for name, url in feeds:
        lines += ["[[feeds]]", f'name = "{name}"', f'url = "{url}"', "interval_minutes = 15"]
    path = tmp_path / "sanctionwatch.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def slack_env(monkeypatch: pytest.MonkeyPatch, api_url: str) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("SLACK_API_URL", api_url)
    monkeypatch.delenv("SANCTIONWATCH_CONFIG", raising=False)


def run_cli(args: Sequence[str]) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(args), out=out)
    return code, out.getvalue()
