"""parse() against hostile documents: XML bombs, XXE, DTD retrieval, non-feeds, hostile text."""

from __future__ import annotations

import random
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from sanctionwatch.errors import FeedError
from sanctionwatch.ingest.parse import FetchSettings, FetchState, ParsedFeed, fetch, parse
from tests.support.feedserver import FeedServer  # fixture feed_server: conftest.py
from tests.support.paths import FIXTURES

FIXTURES = FIXTURES / "feeds"
# Budgets for parsing one small hostile document. Expanded, the billion-laughs file would be
# ~3 GB and the quadratic file ~1 GB; safe handling stays far below these.
MAX_SECONDS = 2.0
MAX_PEAK_BYTES = 16 * 1024 * 1024
SECRET = "TOP-SECRET-7f3a9c"


def _fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _measured(call: Callable[[], ParsedFeed]) -> tuple[ParsedFeed, float, int]:
    tracemalloc.start()
    started = time.monotonic()
    try:
        result = call()
    finally:
        elapsed = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return result, elapsed, peak


def _all_text(feed: ParsedFeed) -> str:
    parts = [feed.title, feed.warning or ""]
    for item in feed.items:
        parts += [item.title, item.text, item.link or "", item.guid or "", item.item_id]
    return "\n".join(parts)


def _bomb_variants() -> dict[str, bytes]:
    bomb = _fixture("billion_laughs.xml")
    text = bomb.decode("ascii")
    return {
        "plain": bomb,
        # an unclosed tag makes expat fail, so feedparser falls back to its loose parser
        "loose-parser": bomb.replace(b"</description>", b"<b></description>"),
        "utf-16": text.replace(
            '<?xml version="1.0"?>', '<?xml version="1.0" encoding="utf-16"?>'
        ).encode("utf-16"),
        "utf-16-no-bom": text.encode("utf-16-le"),
        "junk-before-doctype": b"garbage text " + bomb.split(b"\n", 1)[1],
        "comment-before-doctype": bomb.replace(b"<!DOCTYPE", b"<!-- x -->\n<!DOCTYPE", 1),
        "lowercase-doctype": bomb.replace(b"<!DOCTYPE", b"<!doctype"),
    }


@pytest.mark.parametrize("variant", sorted(_bomb_variants()))
def test_billion_laughs_is_not_expanded(variant: str) -> None:
    body = _bomb_variants()[variant]
    feed, elapsed, peak = _measured(lambda: parse(body, "bomb"))
    assert elapsed < MAX_SECONDS and peak < MAX_PEAK_BYTES, (elapsed, peak)
    assert "lollol" not in _all_text(feed)
    assert len(_all_text(feed)) < 2000
    assert [i.guid for i in feed.items] == ["bomb-1"]  # the item itself is still recovered
    assert feed.warning is not None and "entity declarations removed" in feed.warning


def test_quadratic_blowup_is_not_expanded() -> None:
    # A "safe" entity (plain text, no references) declared on its own line survives
    # feedparser's own DOCTYPE filtering and would be expanded at every reference:
    # unprotected, this 200 KB document becomes 100 MB of text (measured: 1.6 s, 150+ MiB).
    value = "A" * 100_000
    refs = "&big;" * 1_000
    body = (
        f'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY big "{value}">\n]>\n'
        f'<rss version="2.0"><channel><title>Q</title><item><title>q</title>'
        f"<description>{refs}</description></item></channel></rss>"
    ).encode()
    settings = FetchSettings(max_text_chars=1000)
    feed, elapsed, peak = _measured(lambda: parse(body, "quad", settings=settings))
    assert elapsed < MAX_SECONDS and peak < MAX_PEAK_BYTES, (elapsed, peak)
    assert "AAAA" not in _all_text(feed)
    assert len(feed.items[0].text) <= 1000


def test_xxe_local_file_is_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    body = _fixture("xxe_file.xml").replace(b"{SECRET_PATH}", str(secret).encode())
    for variant in (body, body.replace(b"</title>", b"<i></title>")):  # strict and loose parser
        feed = parse(variant, "xxe")
        assert SECRET not in _all_text(feed)
        assert [i.guid for i in feed.items] == ["xxe-file-1"]


def test_xxe_url_and_parameter_entity_make_no_request(feed_server: FeedServer) -> None:
    feed_server.add("/xxe-entity", body=SECRET.encode(), content_type="text/plain")
    feed_server.add(
        "/xxe-param", body=f'<!ENTITY leak "{SECRET}">'.encode(), content_type="text/plain"
    )
    body = _fixture("xxe_url.xml").replace(b"{SERVER}", feed_server.base_url.encode())
    for variant in (body, body.replace(b"</title>", b"<i></title>")):
        feed = parse(variant, "xxe")
        assert SECRET not in _all_text(feed)
    time.sleep(0.1)  # a request, had one been made, would be recorded by now
    assert feed_server.requests == []


def test_external_dtd_is_not_retrieved(feed_server: FeedServer) -> None:
    feed_server.add(
        "/evil.dtd",
        body=f'<!ENTITY fromdtd "{SECRET}">'.encode(),
        content_type="application/xml-dtd",
    )
    body = _fixture("dtd_external.xml").replace(b"{SERVER}", feed_server.base_url.encode())
    feed = parse(body, "dtd")
    assert SECRET not in _all_text(feed)
    assert [i.guid for i in feed.items] == ["dtd-1"]
    time.sleep(0.1)
    assert feed_server.hits("/evil.dtd") == 0


def test_fetch_then_parse_xxe_feed_requests_only_the_feed(feed_server: FeedServer) -> None:
    feed_server.add("/xxe-entity", body=SECRET.encode())
    feed_server.add("/xxe-param", body=SECRET.encode())
    doc = _fixture("xxe_url.xml").replace(b"{SERVER}", feed_server.base_url.encode())
    url = feed_server.add("/feed.xml", body=doc, content_type="application/rss+xml")
    result = fetch(url, FetchState(), FetchSettings(total_timeout_s=5))
    assert result.body is not None
    feed = parse(result.body, "xxe", content_type=result.content_type, base_url=result.url)
    assert SECRET not in _all_text(feed)
    time.sleep(0.1)
    assert [r.path for r in feed_server.requests] == ["/feed.xml"]


def test_body_that_is_a_path_or_url_is_not_opened(tmp_path: Path, feed_server: FeedServer) -> None:
    # feedparser.parse(<str or bytes>) would open a path or URL given as the document itself
    secret = tmp_path / "secret.rss"
    secret.write_text(f'<rss version="2.0"><channel><title>{SECRET}</title></channel></rss>')
    url = feed_server.add("/secret.rss", body=secret.read_bytes())
    for body in (str(secret).encode(), url.encode()):
        with pytest.raises(FeedError) as caught:
            parse(body, "sneaky")
        assert SECRET not in str(caught.value)
    assert feed_server.requests == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (_fixture("html_page.html"), "feed 'x': not a feed (looks like an HTML page)"),
        (_fixture("empty.xml"), "feed 'x': empty document"),
        (b"  \r\n\t ", "feed 'x': empty document"),
        (random.Random(7).randbytes(4096), "feed 'x': not a feed (binary data)"),
        (
            b'{"version": "https://jsonfeed.org/version/1", "items": []}',
            "feed 'x': not a feed (JSON, not RSS/Atom)",
        ),
        (
            b"just some words, no markup",
            "feed 'x': not a feed (no RSS/Atom content: <unknown>:2:0: syntax error)",
        ),
    ],
    ids=["html", "empty", "whitespace", "binary", "json", "text"],
)
def test_non_feeds_raise_feed_error(body: bytes, expected: str) -> None:
    with pytest.raises(FeedError) as caught:
        parse(body, "x")
    assert caught.value.message == expected
    assert caught.value.hint


def test_html_served_as_text_html_is_named() -> None:
    with pytest.raises(FeedError, match="looks like an HTML page"):
        parse(b"<div>not a feed</div>", "x", content_type="text/html; charset=utf-8")


def test_hostile_items() -> None:
    feed = parse(_fixture("hostile_items.rss"), "hostile")
    assert feed.title == "Hostile items"  # script element and its content dropped
    first = feed.items[0]
    assert "<" not in first.title.replace("ipt>", "") and "alert(1)</script>" not in first.title
    assert first.title.startswith("Bold ") and "Kim & Putin A" in first.title
    assert first.text == "Nested tags after"  # no style/script content, no tags
    assert first.link is None  # javascript:
    # duplicate guid: the first item is kept, the second skipped
    assert [i.guid for i in feed.items].count("dup-guid") == 1
    by_title = {i.title: i for i in feed.items}
    assert by_title["File link"].link is None and by_title["Data link"].link is None
    assert by_title["File link"].published is None  # year 2099: ignored, not clamped
    assert by_title["Data link"].published is None  # unparseable
    spoof = next(i for i in feed.items if i.title.startswith("Spoof"))
    assert spoof.title == "Spoof txt.exe and zerowidth and many spaces"
    assert spoof.item_id == "link:https://hostile.example.com/spoof?id=7"
    anonymous = next(i for i in feed.items if "Choe Son Hui" in i.text)
    assert anonymous.title == "" and anonymous.item_id.startswith("hash:")
    assert len(feed.items) == 5  # the empty item is dropped
    for item in feed.items:
        assert item.link is None or item.link.startswith("https://")
    assert feed.warning is not None
    assert "1 duplicate item(s) skipped" in feed.warning
    assert "1 item date(s) in the future ignored" in feed.warning


def test_sizes_are_capped() -> None:
    title, text = "Kim Jong-un " * 100, "<p>shells</p> " * 5000
    body = (
        '<rss version="2.0"><channel><title>t</title>'
        + "".join(
            f"<item><guid>g{i}</guid><title>{title}</title><description><![CDATA[{text}]]></description></item>"
            for i in range(30)
        )
        + "</channel></rss>"
    ).encode()
    settings = FetchSettings(max_items=25, max_title_chars=40, max_text_chars=300)
    feed = parse(body, "big", settings=settings)
    assert len(feed.items) == 25
    assert all(len(i.title) == 40 and i.title.endswith("…") for i in feed.items)
    assert all(len(i.text) <= 300 and "<p>" not in i.text for i in feed.items)
    assert feed.warning == "kept the first 25 of 30 items"


@pytest.mark.parametrize(
    "name",
    [
        "wellformed_sanitize_item_description_crazy.xml",
        "wellformed_sanitize_entry_title_script.xml",
        "wellformed_sanitize_item_description_onerror.xml",
    ],
)
def test_corpus_sanitize_cases_yield_plain_text(name: str) -> None:
    feed = parse(_fixture(f"corpus/{name}"), "corpus")
    text = _all_text(feed).lower()
    assert "<script" not in text and "onerror" not in text and "<img" not in text
    assert "alert" not in text and "executeme();" not in text


def test_corpus_doctype_entities_are_not_expanded() -> None:
    body = _fixture("corpus/wellformed_rss_entity_in_doctype.xml").replace(
        b"</guid>", b"</guid><title>&id;report</title>"
    )
    feed = parse(body, "corpus")
    # Documented trade-off: even "safe" internal entities are not expanded.
    assert feed.items[0].guid == "&id;2006-05-04:/blog/"
    assert feed.items[0].title == "&id;report"
    rdf = parse(_fixture("corpus/wellformed_rdf_doctype_contains_entity_decl.xml"), "corpus")
    assert rdf.items == [] and rdf.warning is not None
