"""sanctionwatch.slack.blockkit: every Block Kit limit is caught, named, and clamp repairs it."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sanctionwatch.slack import blockkit
from sanctionwatch.slack.blockkit import (
    ELLIPSIS,
    InvalidMessageError,
    clamp,
    clusters,
    cut_mrkdwn,
    ensure_valid,
    fit,
    message_problems,
    problems,
    slack_len,
)
from sanctionwatch.slack.format import escape
from tests.support.slack_api import block_errors

PROPERTY = settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


def mrkdwn(text: str) -> dict:
    return {"type": "mrkdwn", "text": text}


def section(text: str) -> dict:
    return {"type": "section", "text": mrkdwn(text)}


def button(**kw: object) -> dict:
    base: dict = {
        "type": "button",
        "action_id": "a",
        "text": {"type": "plain_text", "text": "OK"},
        "value": "1",
    }
    base.update(kw)
    return base


VALID = [
    {"type": "header", "text": {"type": "plain_text", "text": "h" * 150}},
    section("s" * 3000),
    {"type": "section", "fields": [mrkdwn("f" * 2000)] * 10},
    {"type": "context", "elements": [mrkdwn("c" * 3000)] * 10},
    {"type": "actions", "block_id": "b" * 255, "elements": [button(value="v" * 2000)]},
    {"type": "divider"},
]


def test_limits_exactly_at_the_edge_are_accepted() -> None:
    assert problems(VALID) == []
    assert block_errors(VALID) == []  # the stand-in agrees


@pytest.mark.parametrize(
    "block, expected",
    [
        (section("s" * 3001), "block 0 (section): text"),
        (section(""), "block 0 (section): text is empty"),
        ({"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}, "150"),
        ({"type": "header", "text": mrkdwn("h")}, "not allowed here"),
        ({"type": "section", "fields": [mrkdwn("f")] * 11}, "10"),
        ({"type": "section", "fields": [mrkdwn("f" * 2001)]}, "field 0: text is 2001"),
        ({"type": "context", "elements": [mrkdwn("c")] * 11}, "10"),
        ({"type": "context", "elements": [mrkdwn("c" * 3001)]}, "element 0: text is 3001"),
        ({"type": "actions", "elements": [button(value="v" * 2001)]}, "value is 2001"),
        ({"type": "actions", "elements": [button(action_id="a" * 256)]}, "action_id"),
        (
            {
                "type": "actions",
                "elements": [button(text={"type": "plain_text", "text": "x" * 76})],
            },
            "label: text is 76",
        ),
        ({"type": "actions", "block_id": "b" * 256, "elements": [button()]}, "block_id"),
        ({"type": "actions", "elements": [button(style="loud")]}, "style"),
        ({"type": "section", "text": mrkdwn("😀" * 1501)}, "text is 3002"),  # UTF-16 units
        ({"type": "section", "text": mrkdwn("a\udc80")}, "surrogate"),
        ({"type": "no-such-block"}, "unknown block type"),
        ("not a block", "not an object"),
    ],
)
def test_each_limit_is_caught_and_named(block: object, expected: str) -> None:
    found = problems([block])
    assert found, block
    assert any(expected in p for p in found), found


def test_too_many_blocks() -> None:
    assert problems([{"type": "divider"}] * 50) == []
    assert problems([{"type": "divider"}] * 51) == ["51 blocks, the limit is 50"]


def test_ensure_valid_names_block_and_limit() -> None:
    ensure_valid("fine", VALID)
    with pytest.raises(InvalidMessageError) as info:
        ensure_valid("t", [section("ok"), section("x" * 3692)])
    err = info.value
    assert "block 1 (section): text is 3692 characters, the limit is 3000" in err.message
    assert err.error == "invalid_blocks" and err.retryable is False
    with pytest.raises(InvalidMessageError) as info:
        ensure_valid("", [])
    assert info.value.error == "no_text"
    assert [c for c, _ in message_problems("x" * 40_001, [])] == ["msg_too_long"]
    assert [c for c, _ in message_problems("x" * 4001, [])] == ["text_too_long"]


def test_slack_len_counts_utf16_units() -> None:
    assert slack_len("abc") == 3
    assert slack_len("Ким") == 3
    assert slack_len("😀") == 2
    assert slack_len("👩‍👩‍👧") == 8


@pytest.mark.parametrize(
    "text",
    [
        "e\u0301" * 50,  # e + combining acute
        "👩‍👩‍👧‍👦" * 20,  # ZWJ family
        "🇺🇦🇷🇺🇰🇵" * 20,  # flags: pairs of regional indicators
        "👍🏽" * 30,  # skin tone
        "❤️" * 40,  # variation selector
        "مرحبا بالعالم " * 20,
    ],
)
def test_fit_never_cuts_inside_a_character(text: str) -> None:
    whole = list(clusters(text))
    for limit in range(1, 60):
        out = fit(text, limit)
        assert slack_len(out) <= limit
        body = out.removesuffix(ELLIPSIS).rstrip()
        # what is left is a run of whole clusters of the original
        assert text.startswith(body)
        kept = list(clusters(body))
        assert kept == whole[: len(kept)], (limit, out)


def test_clusters_keep_flags_paired_and_zalgo_bounded() -> None:
    assert list(clusters("🇺🇦🇷🇺")) == ["🇺🇦", "🇷🇺"]
    assert list(clusters("e\u0301x")) == ["e\u0301", "x"]
    zalgo = "z" + "\u0336" * 200
    assert max(len(c) for c in clusters(zalgo)) <= blockkit.MAX_CLUSTER_CODEPOINTS
    assert fit(zalgo, 50) != ELLIPSIS  # still shows something


def test_fit_with_escape_never_splits_an_entity() -> None:
    for limit in range(1, 30):
        out = fit("&<>" * 20, limit, escape)
        assert slack_len(out) <= limit
        assert (
            out.removesuffix(ELLIPSIS).replace("&amp;", "").replace("&lt;", "").replace("&gt;", "")
            == ""
        )


def test_cut_mrkdwn_keeps_links_and_entities_whole() -> None:
    text = "*<https://example.org/?a=1&amp;b=2|Kim &amp; Putin>* and &lt;more&gt; text " * 5
    for limit in range(1, len(text)):
        out = cut_mrkdwn(text, limit)
        assert slack_len(out) <= limit
        assert out.count("<") == out.count(">")  # no half link
        assert not out.removesuffix(ELLIPSIS).endswith(("&", "&a", "&am", "&amp", "&l", "&lt"))
    assert cut_mrkdwn("short", 10) == "short"


# ------------------------------------------------------------------ clamp (property)
HOSTILE_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["&", "<!channel>", "😀", "e\u0301", "\u202e", "\udc80", "", " "]).map(
        lambda piece: piece * 2000
    ),
    st.integers(0, 5000).map(lambda n: "x" * n),
)


@st.composite
def hostile_block(draw: st.DrawFn) -> dict:
    kind = draw(st.sampled_from(["header", "section", "fields", "context", "actions"]))
    text = draw(HOSTILE_TEXT)
    n = draw(st.integers(0, 30))
    if kind == "header":
        return {"type": "header", "text": {"type": "plain_text", "text": text}}
    if kind == "section":
        return section(text)
    if kind == "fields":
        return {"type": "section", "fields": [mrkdwn(text)] * max(1, n)}
    if kind == "context":
        return {"type": "context", "elements": [mrkdwn(text)] * max(1, n)}
    return {
        "type": "actions",
        "elements": [button(text={"type": "plain_text", "text": text or "x"})] * max(1, n),
    }


@PROPERTY
@given(st.lists(hostile_block(), max_size=70))
def test_clamp_makes_anything_acceptable(blocks: list[dict]) -> None:
    out = clamp(blocks)
    assert problems(out) == []
    assert block_errors(out) == []
    if blocks and blocks[-1]["type"] == "actions" and problems([blocks[-1]]) == []:
        assert out[-1] == blocks[-1]  # the review buttons survive a trim to 50 blocks
