"""Slack mrkdwn escaping and Block Kit alert formatting (pure functions, no network)."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from sanctionwatch.slack.dryrun import DryRunPoster
from sanctionwatch.slack.format import (
    MAX_BLOCKS,
    MAX_FALLBACK_TEXT,
    MAX_HEADER_TEXT,
    MAX_SECTION_TEXT,
    escape,
    escape_fit,
    format_alert,
    safe_link,
)
from sanctionwatch.slack.poster import Poster
from tests.support.factories import make_match, make_view


def all_texts(blocks: list[dict]) -> list[str]:
    """Every text string in the blocks (section, header, context, button)."""
    out: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                out.append(node["text"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(blocks)
    return out


# ------------------------------------------------------------------ escape
@pytest.mark.parametrize(
    "raw, expected",
    [
        ("<!channel> alert", "&lt;!channel&gt; alert"),
        ("<!here>", "&lt;!here&gt;"),
        ("<!everyone>", "&lt;!everyone&gt;"),
        ("hi <@U123ABC>", "hi &lt;@U123ABC&gt;"),
        ("<!subteam^S123|@compliance>", "&lt;!subteam^S123|@compliance&gt;"),
        ("<http://evil.example|click here>", "&lt;http://evil.example|click here&gt;"),
        ("AT&T <b>", "AT&amp;T &lt;b&gt;"),
        ("already &amp; &lt;escaped&gt;", "already &amp;amp; &amp;lt;escaped&amp;gt;"),
        ("Ким Чен Ын 김정은", "Ким Чен Ын 김정은"),
    ],
)
def test_escape_makes_pings_and_links_inert(raw: str, expected: str) -> None:
    out = escape(raw)
    assert out == expected
    assert "<" not in out and ">" not in out


def test_escape_fit_never_splits_an_entity() -> None:
    text = "&" * 100
    for limit in range(2, 40):
        out = escape_fit(text, limit)
        assert len(out) <= limit
        body = out.removesuffix("…")
        assert body == "&amp;" * (len(body) // 5)


def test_escape_fit_keeps_short_text_whole() -> None:
    assert escape_fit("a<b", 10) == "a&lt;b"


# ------------------------------------------------------------------ links
@pytest.mark.parametrize(
    "url, ok",
    [
        ("https://example.org/a?b=1&c=2", True),
        ("http://example.org", True),
        ("HTTPS://EXAMPLE.ORG/x", True),
        ("javascript:alert(1)", False),
        ("ftp://example.org/file", False),
        ("https://exa mple.org", False),
        ("https://example.org/a|evil", False),
        ("https://example.org/<!channel>", False),
        ("https:///nohost", False),
        ("//example.org/relative", False),
        ("https://example.org/\nx", False),
        ("", False),
        (None, False),
    ],
)
def test_safe_link(url: str | None, ok: bool) -> None:
    result = safe_link(url)
    if ok:
        assert result == url
    else:
        assert result is None


def title_text(blocks: list[dict]) -> str:
    return blocks[1]["text"]["text"]


def test_title_is_linked_to_its_own_url_with_escaped_ampersand() -> None:
    _, blocks = format_alert(make_view(title="Kim & <Putin>"))
    assert (
        title_text(blocks) == "*<https://example.org/news/1?a=1&amp;b=2|Kim &amp; &lt;Putin&gt;>*"
    )


@pytest.mark.parametrize(
    "bad", ["javascript:alert(1)", "https://evil.example|<!channel>", "file:///etc/passwd"]
)
def test_bad_url_gives_plain_title_and_no_link(bad: str) -> None:
    _, blocks = format_alert(make_view(link=bad, title="<!channel> Wagner"))
    text = title_text(blocks)
    assert text == "*&lt;!channel&gt; Wagner*"
    assert all("<" not in t for t in all_texts(blocks))


def test_no_untrusted_angle_brackets_anywhere() -> None:
    evil = "<!channel> <@U999> <http://evil|x>"
    view = make_view(
        title=evil,
        link=None,
        feed=evil,
        explanation=evil,
        matches=(make_match(entity=evil, text=evil, alias=evil, watchlist=evil, detail=evil),),
        disposition="true_match",
        disposition_by=evil,
    )
    fallback, blocks = format_alert(view)
    for text in [fallback, *all_texts(blocks)]:
        assert "<!" not in text and "<@" not in text and "<http" not in text, text


# ------------------------------------------------------------------ content
def test_message_shows_header_meta_matches_and_explanation() -> None:
    fallback, blocks = format_alert(make_view())
    assert blocks[0]["type"] == "header"
    assert blocks[0]["text"]["text"] == ":red_circle: CRITICAL · dprk-russia-arms"
    meta = blocks[2]["elements"][0]["text"]
    assert "Feed: tass-ru" in meta
    assert "Published: 2026-11-28 09:30 UTC" in meta
    assert "Alert #42" in meta
    matched = "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section")
    assert '*Kim Jong Un* (dprk) ← "Ким Чен Ын" via alias "Ким Чен Ын", score 100' in matched
    assert '*Russia* (countries) ← "Россию" via alias "Россия", score 96' in matched
    contexts = [e["text"] for b in blocks if b["type"] == "context" for e in b["elements"]]
    assert "all: dprk entity AND russia within 20 words" in contexts
    assert any("exact match on 3 tokens" in c for c in contexts)
    assert fallback.startswith("[CRITICAL] dprk-russia-arms: Ким Чен Ын прибыл в Россию")
    assert "Kim Jong Un, Russia" in fallback


@pytest.mark.parametrize(
    "severity, emoji",
    [
        ("low", ":large_blue_circle:"),
        ("medium", ":large_yellow_circle:"),
        ("high", ":large_orange_circle:"),
        ("critical", ":red_circle:"),
        ("weird", ":white_circle:"),
    ],
)
def test_severity_emoji(severity: str, emoji: str) -> None:
    _, blocks = format_alert(make_view(severity=severity))
    assert blocks[0]["text"]["text"].startswith(emoji + " " + severity.upper())


def test_publication_time_converted_to_utc_and_missing_shown_as_unknown() -> None:
    kst = timezone(timedelta(hours=9))
    _, blocks = format_alert(make_view(published_at=datetime(2026, 11, 28, 19, 5, tzinfo=kst)))
    assert "Published: 2026-11-28 10:05 UTC" in blocks[2]["elements"][0]["text"]
    _, blocks = format_alert(make_view(published_at=None))
    assert "Published: unknown" in blocks[2]["elements"][0]["text"]


def test_duplicate_matches_listed_once_and_fractional_score_rounded() -> None:
    m = make_match(score=96.44)
    _, blocks = format_alert(make_view(matches=(m, m, m)))
    matched = "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section")
    assert matched.count("*Kim Jong Un*") == 1
    assert "score 96.4" in matched


# ------------------------------------------------------------------ buttons / disposition
def test_review_buttons() -> None:
    _, blocks = format_alert(make_view(alert_id=1234))
    actions = blocks[-1]
    assert actions["type"] == "actions"
    assert actions["block_id"] == "review:1234"
    ids = [e["action_id"] for e in actions["elements"]]
    assert ids == ["review_true_match", "review_false_positive", "review_escalate"]
    assert [e["text"]["text"] for e in actions["elements"]] == [
        "True match",
        "False positive",
        "Escalate",
    ]
    assert all(e["value"] == "1234" and e["type"] == "button" for e in actions["elements"])


def test_disposition_line_with_user_mention_and_buttons_kept() -> None:
    view = make_view(
        disposition="true_match",
        disposition_by="U123ABC",
        disposition_at=datetime(2026, 11, 28, 10, 0, tzinfo=UTC),
    )
    _, blocks = format_alert(view)
    contexts = [e["text"] for b in blocks if b["type"] == "context" for e in b["elements"]]
    assert "✅ True match — by <@U123ABC> at 2026-11-28 10:00 UTC" in contexts
    assert blocks[-1]["type"] == "actions"


@pytest.mark.parametrize(
    "disposition, by, expected",
    [
        ("false_positive", "W0ENTERPRISE", "🚫 False positive — by <@W0ENTERPRISE>"),
        ("escalate", "maria <!channel>", "⚠️ Escalated — by maria &lt;!channel&gt;"),
        ("true_match", "u123lower", "✅ True match — by u123lower"),
    ],
)
def test_disposition_user_rendering(disposition: str, by: str, expected: str) -> None:
    _, blocks = format_alert(make_view(disposition=disposition, disposition_by=by))
    contexts = [e["text"] for b in blocks if b["type"] == "context" for e in b["elements"]]
    assert expected in contexts


def test_no_disposition_line_when_not_reviewed() -> None:
    _, blocks = format_alert(make_view())
    assert "True match —" not in json.dumps(blocks, ensure_ascii=False)


# ------------------------------------------------------------------ limits
def test_limits_respected_with_huge_inputs() -> None:
    many = tuple(
        make_match(entity=f"Entity {i} " + "x" * 200, text="&<>" * 50, score=90 + i % 10)
        for i in range(400)
    )
    view = make_view(
        rule="r" * 400,
        title="<" * 5000,
        explanation="e&" * 3000,
        feed="f" * 2000,
        matches=many,
    )
    fallback, blocks = format_alert(view)
    assert len(blocks) <= MAX_BLOCKS
    assert len(fallback) <= MAX_FALLBACK_TEXT and fallback.endswith("…")
    assert len(blocks[0]["text"]["text"]) <= MAX_HEADER_TEXT
    assert blocks[0]["text"]["text"].endswith("…")
    for block in blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= MAX_SECTION_TEXT
        if block["type"] == "context":
            assert len(block["elements"]) <= 10
            assert all(len(e["text"]) <= 3000 for e in block["elements"])
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert "more" in sections[-1]  # the tail of the match list is summarised, not dropped silently
    assert blocks[-1]["type"] == "actions"  # the review buttons always survive
    # truncated text never ends inside an entity
    for text in all_texts(blocks):
        assert not text.rstrip("…").endswith(("&", "&a", "&am", "&l", "&g", "&lt", "&gt"))


def test_many_matches_split_into_several_sections_before_summarising() -> None:
    many = tuple(make_match(entity=f"Vessel {i:03d} " + "y" * 100) for i in range(60))
    _, blocks = format_alert(make_view(matches=many))
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"][1:]
    assert len(sections) >= 2
    joined = "\n".join(sections)
    assert all(f"Vessel {i:03d}" in joined for i in range(60))


# ------------------------------------------------------------------ dry run
def test_dry_run_prints_readable_alert() -> None:
    out = io.StringIO()
    fallback, blocks = format_alert(make_view(title="Kim & Putin <meet>\x1b[31m"))
    dry: Poster = DryRunPoster(out)  # mypy checks the Protocol
    ts = dry.post("#sanctions-alerts", fallback, blocks)
    text = out.getvalue()
    assert ts
    assert "CRITICAL · dprk-russia-arms" in text
    assert "Kim & Putin <meet>[31m (https://example.org/news/1?a=1&b=2)" in text
    assert "\x1b" not in text
    assert 'Kim Jong Un (dprk) ← "Ким Чен Ын" via alias "Ким Чен Ын", score 100' in text
    assert "Published: 2026-11-28 09:30 UTC" in text
    assert "all: dprk entity AND russia within 20 words" in text
    assert '"type"' not in text and "&amp;" not in text


def test_dry_run_update_and_upload(tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    out = io.StringIO()
    poster = DryRunPoster(out)
    _, blocks = format_alert(replace(make_view(), disposition="escalate", disposition_by="U1"))
    poster.update("#a", "dryrun.000001", "x", blocks)
    f = tmp_path / "weekly.csv"
    f.write_bytes(b"abc")
    poster.upload_file("#reports", f, title="Weekly export", comment="7 alerts")
    text = out.getvalue()
    assert "Escalated — by @U1" in text
    assert "weekly.csv (3 bytes)" in text and "Weekly export" in text and "7 alerts" in text
