"""fetch(): real HTTP against a local server on 127.0.0.1 (tests/support/feedserver.py)."""

from __future__ import annotations

import email.utils
import gzip
import socket
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sanctionwatch.config.settings import DEFAULT_USER_AGENT
from sanctionwatch.ingest.fetchbody import DRAIN_BYTES
from sanctionwatch.ingest.parse import FetchSettings, FetchState, fetch, make_client
from sanctionwatch.ingest.retryafter import parse_retry_after
from tests.support.feedserver import FeedServer  # fixture feed_server: conftest.py
from tests.support.paths import FIXTURES

FIXTURES = FIXTURES / "feeds"
GOOD_RSS = (FIXTURES / "good.rss").read_bytes()
FAST = FetchSettings(connect_timeout_s=2.0, total_timeout_s=5.0)
# How much longer than total_timeout_s a timed-out fetch may take (scheduling slack).
DEADLINE_SLACK_S = 0.8


def test_plain_200_returns_body_and_validators(feed_server: FeedServer) -> None:
    url = feed_server.add(
        "/feed.rss", body=GOOD_RSS, etag='"v1"', last_modified="Fri, 13 Oct 2023 08:00:00 GMT"
    )
    result = fetch(url, FetchState(), FAST)
    assert result.error is None
    assert (result.status, result.body, result.not_modified, result.gone) == (
        200,
        GOOD_RSS,
        False,
        False,
    )
    assert result.content_type == "application/rss+xml; charset=utf-8"
    assert result.etag == '"v1"' and result.last_modified == "Fri, 13 Oct 2023 08:00:00 GMT"
    sent = feed_server.requests[0].headers
    assert sent["user-agent"] == DEFAULT_USER_AGENT and sent["user-agent"].startswith(
        "sanctionwatch/"
    )
    assert "gzip" in sent["accept-encoding"]
    assert "if-none-match" not in sent and "if-modified-since" not in sent


def test_conditional_get_with_etag_gives_not_modified(feed_server: FeedServer) -> None:
    url = feed_server.add("/feed.rss", body=GOOD_RSS, etag='"abc"')
    first = fetch(url, FetchState(), FAST)
    second = fetch(url, FetchState(etag=first.etag), FAST)
    assert second.status == 304 and second.not_modified and second.body is None
    assert second.error is None and second.etag == '"abc"'
    assert feed_server.requests[1].headers["if-none-match"] == '"abc"'
    changed = fetch(url, FetchState(etag='"old"'), FAST)
    assert changed.status == 200 and changed.body == GOOD_RSS and not changed.not_modified


def test_conditional_get_with_last_modified(feed_server: FeedServer) -> None:
    stamp = "Sat, 14 Oct 2023 11:00:00 GMT"
    url = feed_server.add("/feed.rss", body=GOOD_RSS, last_modified=stamp)
    result = fetch(url, FetchState(last_modified=stamp), FAST)
    assert result.not_modified and result.last_modified == stamp
    assert feed_server.requests[0].headers["if-modified-since"] == stamp


def test_gzip_body_is_decoded(feed_server: FeedServer) -> None:
    url = feed_server.add("/feed.rss", body=GOOD_RSS, gzip=True)
    result = fetch(url, FetchState(), FAST)
    assert result.error is None and result.body == GOOD_RSS


def test_gzip_bomb_is_capped_on_decompressed_bytes(feed_server: FeedServer) -> None:
    bomb = b"\0" * (64 * 1024 * 1024)  # 64 MiB of zeros: ~64 KB compressed
    feed_server.add("/bomb.rss", body=bomb, gzip=True)
    settings = FetchSettings(total_timeout_s=10.0, max_bytes=1024 * 1024)
    del bomb
    tracemalloc.start()
    started = time.monotonic()
    result = fetch(feed_server.url("/bomb.rss"), FetchState(), settings)
    elapsed = time.monotonic() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert result.error == "body exceeds 1 MB cap" and result.body is None
    assert elapsed < 3.0
    assert peak < 8 * 1024 * 1024, f"peak memory {peak} bytes"


@pytest.mark.parametrize("content_length", [True, False])
def test_plain_body_over_cap(feed_server: FeedServer, content_length: bool) -> None:
    url = feed_server.add("/big.rss", body=b"x" * 5000, content_length=content_length)
    result = fetch(url, FetchState(), FetchSettings(max_bytes=4000))
    assert result.error == "body exceeds 4000 bytes cap" and result.body is None


def test_server_that_never_answers_hits_total_deadline(feed_server: FeedServer) -> None:
    url = feed_server.add("/hang", body=GOOD_RSS, delay_s=30)
    settings = FetchSettings(connect_timeout_s=1.0, total_timeout_s=1.0)
    started = time.monotonic()
    result = fetch(url, FetchState(), settings)
    elapsed = time.monotonic() - started
    assert result.error == "timed out after 1s (total)" and result.status is None
    assert 0.9 < elapsed < 1.0 + DEADLINE_SLACK_S


def test_trickled_body_hits_total_deadline(feed_server: FeedServer) -> None:
    url = feed_server.add("/trickle", body=GOOD_RSS, trickle_s=0.02, trickle_bytes=1)
    started = time.monotonic()
    result = fetch(url, FetchState(), FetchSettings(total_timeout_s=1.0))
    elapsed = time.monotonic() - started
    assert result.error == "timed out after 1s (total)" and result.body is None
    assert elapsed < 1.0 + DEADLINE_SLACK_S


@pytest.mark.parametrize("shared_client", [False, True])
def test_trickled_headers_hit_total_deadline(feed_server: FeedServer, shared_client: bool) -> None:
    # every byte arrives well inside the read timeout, so only a wall-clock deadline stops it
    url = feed_server.add("/slow-headers", body=GOOD_RSS, header_trickle_s=0.05)
    settings = FetchSettings(total_timeout_s=1.0)
    client = make_client(settings) if shared_client else None
    started = time.monotonic()
    try:
        result = fetch(url, FetchState(), settings, client=client)
    finally:
        if client is not None:
            client.close()
    elapsed = time.monotonic() - started
    assert result.error == "timed out after 1s (total)"
    assert elapsed < 1.0 + DEADLINE_SLACK_S


def _ports(server: FeedServer, path: str) -> list[int]:
    return [r.client_port for r in server.requests if r.path == path]


def test_shared_client_keeps_the_connection_alive(feed_server: FeedServer) -> None:
    """Feeds of one host share a connection: 200s and 304s leave it reusable."""
    url = feed_server.add("/feed.rss", body=GOOD_RSS, etag='"v1"', keep_alive=True)
    with make_client(FAST) as client:
        results = [fetch(url, FetchState(), FAST, client=client) for _ in range(3)]
        again = [fetch(url, FetchState(etag='"v1"'), FAST, client=client) for _ in range(2)]
    assert [r.body for r in results] == [GOOD_RSS] * 3
    assert [(r.status, r.not_modified, r.error) for r in again] == [(304, True, None)] * 2
    assert len(set(_ports(feed_server, "/feed.rss"))) == 1  # five answers, one connection


def test_an_answer_left_unread_closes_its_connection(feed_server: FeedServer) -> None:
    """A short redirect or error body is read and dropped (the connection is kept); a long
    one is not read: its connection is closed, so the unread bytes are never taken for the
    next answer."""
    target = feed_server.add("/feed.rss", body=GOOD_RSS, keep_alive=True)
    moved = feed_server.add(
        "/old.rss", status=301, redirect_to="/feed.rss", body=b"<p>moved</p>" * 500,
        keep_alive=True,
    )  # fmt: skip
    missing = feed_server.add(
        "/gone.rss", status=404, body=b"x" * (DRAIN_BYTES + 1), keep_alive=True
    )
    with make_client(FAST) as client:
        first = fetch(moved, FetchState(), FAST, client=client)
        second = fetch(missing, FetchState(), FAST, client=client)
        third = fetch(target, FetchState(), FAST, client=client)
    assert (first.url, first.body, first.error) == (target, GOOD_RSS, None)
    assert (second.status, second.error) == (404, "HTTP 404 Not Found")
    assert third.body == GOOD_RSS
    ports = [r.client_port for r in feed_server.requests]
    assert len(ports) == 4 and ports[0] == ports[1] == ports[2]  # the redirect's was drained
    assert ports[2] != ports[3]  # the 404's long body was not: its connection was closed


@pytest.mark.parametrize(
    ("status", "message", "gone"),
    [
        (404, "HTTP 404 Not Found", False),
        (410, "HTTP 410 Gone", True),
        (500, "HTTP 500 Internal Server Error", False),
    ],
)
def test_http_errors(feed_server: FeedServer, status: int, message: str, gone: bool) -> None:
    url = feed_server.add("/x", status=status, body=b"<html>error</html>", content_type="text/html")
    result = fetch(url, FetchState(), FAST)
    assert (result.status, result.error, result.gone, result.body) == (status, message, gone, None)
    assert result.retry_after_s is None


def test_429_with_retry_after_seconds(feed_server: FeedServer) -> None:
    url = feed_server.add("/x", status=429, headers={"Retry-After": "120"})
    result = fetch(url, FetchState(), FAST)
    assert result.retry_after_s == 120.0
    assert result.error == "HTTP 429 Too Many Requests (retry after 120s)"


def test_503_with_retry_after_http_date(feed_server: FeedServer) -> None:
    when = datetime.now(UTC) + timedelta(seconds=600)
    url = feed_server.add(
        "/x", status=503, headers={"Retry-After": email.utils.format_datetime(when, usegmt=True)}
    )
    result = fetch(url, FetchState(), FAST)
    assert result.status == 503 and result.retry_after_s is not None
    assert 590 <= result.retry_after_s <= 601
    assert result.error is not None and result.error.startswith(
        "HTTP 503 Service Unavailable (retry after"
    )


def test_parse_retry_after_forms() -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    assert parse_retry_after("30", now) == 30.0
    assert parse_retry_after("Mon, 01 Jan 2024 00:01:00 GMT", now) == 60.0
    assert parse_retry_after("Sun, 31 Dec 2023 00:00:00 GMT", now) == 0.0  # past: no wait
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


def test_redirects_are_followed_to_the_final_url(feed_server: FeedServer) -> None:
    feed_server.add("/old", status=301, redirect_to="/middle")
    feed_server.add("/middle", status=302, redirect_to=feed_server.url("/feed.rss"))
    final = feed_server.add("/feed.rss", body=GOOD_RSS)
    result = fetch(feed_server.url("/old"), FetchState(), FAST)
    assert result.error is None and result.body == GOOD_RSS and result.url == final


def test_redirect_loop_ends_with_clear_error(feed_server: FeedServer) -> None:
    feed_server.add("/a", status=302, redirect_to="/b")
    feed_server.add("/b", status=302, redirect_to="/a")
    result = fetch(feed_server.url("/a"), FetchState(), FAST)
    assert result.error is not None and result.error.startswith("redirect loop")
    assert feed_server.hits("/a") == 1 and feed_server.hits("/b") == 1


def test_long_redirect_chain_is_cut(feed_server: FeedServer) -> None:
    for i in range(10):
        feed_server.add(f"/r{i}", status=307, redirect_to=f"/r{i + 1}")
    result = fetch(feed_server.url("/r0"), FetchState(), FetchSettings(max_redirects=3))
    assert result.error == "too many redirects (more than 3)"
    assert len(feed_server.requests) == 4


def test_redirect_to_file_url_is_refused(feed_server: FeedServer) -> None:
    url = feed_server.add("/evil", status=302, redirect_to="file:///etc/passwd")
    result = fetch(url, FetchState(), FAST)
    assert result.body is None
    assert result.error == "redirect to a non-http(s) URL refused: file:///etc/passwd"


def test_connection_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = fetch(f"http://127.0.0.1:{port}/feed", FetchState(), FAST)
    assert result.status is None and result.error == f"connection refused by 127.0.0.1:{port}"


def test_tls_error_is_reported(feed_server: FeedServer) -> None:
    url = feed_server.add("/feed.rss", body=GOOD_RSS).replace("http://", "https://")
    result = fetch(url, FetchState(), FAST)
    assert result.status is None and result.error is not None
    assert result.error.startswith("TLS error with 127.0.0.1")


def test_dns_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    # No network in tests: make the resolver fail for this one name as a real lookup would.
    real = socket.getaddrinfo

    def fake_getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
        if host == "feeds.nowhere.invalid":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    result = fetch("https://feeds.nowhere.invalid/rss", FetchState(), FAST)
    assert result.error == "DNS lookup failed for host feeds.nowhere.invalid"


@pytest.mark.parametrize("url", ["ftp://example.org/feed", "javascript:alert(1)", "http://"])
def test_bad_urls_never_raise(url: str) -> None:
    result = fetch(url, FetchState(), FAST)
    assert result.error and result.body is None and result.status is None


def test_local_file_path_and_file_url(tmp_path: Path) -> None:
    path = tmp_path / "demo feed.rss"
    path.write_bytes(GOOD_RSS)
    for target in (str(path), path.as_uri()):
        result = fetch(target, FetchState(), FAST)
        assert (result.status, result.body, result.error) == (200, GOOD_RSS, None)
        assert result.last_modified is not None
    again = fetch(str(path), FetchState(last_modified=result.last_modified), FAST)
    assert again.not_modified and again.body is None


def test_local_file_missing_and_over_cap(tmp_path: Path) -> None:
    missing = fetch(str(tmp_path / "nope.rss"), FetchState(), FAST)
    assert missing.error == f"file not found: {tmp_path / 'nope.rss'}"
    big = tmp_path / "big.rss"
    big.write_bytes(b"x" * 2048)
    assert (
        fetch(str(big), FetchState(), FetchSettings(max_bytes=1024)).error
        == "body exceeds 1 KB cap"
    )


def test_gzip_bodies_leave_the_connection_reusable(feed_server: FeedServer) -> None:
    url = feed_server.add(
        "/feed.rss", body=gzip.compress(GOOD_RSS), headers={"Content-Encoding": "gzip"},
        keep_alive=True,
    )  # fmt: skip
    with make_client(FAST) as client:
        results = [fetch(url, FetchState(), FAST, client=client) for _ in range(2)]
    assert [(r.error, r.body) for r in results] == [(None, GOOD_RSS)] * 2
    assert len(set(_ports(feed_server, "/feed.rss"))) == 1


def test_malformed_redirect_location_is_an_error_not_an_exception(feed_server: FeedServer) -> None:
    url = feed_server.add("/bad", status=302, redirect_to="http://[not-a-host/feed")
    result = fetch(url, FetchState(), FAST)
    assert result.body is None and result.error is not None and result.status is None


def test_a_shared_client_enforces_the_deadline_on_a_trickled_body(
    feed_server: FeedServer,
) -> None:
    url = feed_server.add("/trickle", body=GOOD_RSS, trickle_s=0.02, trickle_bytes=1)
    settings = FetchSettings(total_timeout_s=1.0)
    started = time.monotonic()
    with make_client(settings) as client:
        result = fetch(url, FetchState(), settings, client=client)
        assert result.error == "timed out after 1s (total)"
        assert time.monotonic() - started < 1.0 + DEADLINE_SLACK_S
        quick = feed_server.add("/quick", body=GOOD_RSS)
        assert fetch(quick, FetchState(), settings, client=client).body == GOOD_RSS


def test_a_connection_dropped_before_the_answer_is_retried_once(feed_server: FeedServer) -> None:
    """A server (or the connection pool) that closes the connection under a request costs
    one more GET, not a failed feed; a server that keeps dropping it fails after two."""
    once = feed_server.add("/once.rss", body=GOOD_RSS, drop_first=1)
    result = fetch(once, FetchState(), FAST)
    assert (result.error, result.status, result.body) == (None, 200, GOOD_RSS)
    assert feed_server.hits("/once.rss") == 2
    always = feed_server.add("/always.rss", body=GOOD_RSS, drop_first=99)
    result = fetch(always, FetchState(), FAST)
    assert result.status is None and result.error is not None
    assert "disconnected" in result.error.lower() or "network" in result.error.lower()
    assert feed_server.hits("/always.rss") == 2  # one retry, no more


def test_a_stopping_poll_is_not_retried(
    feed_server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    import logging
    import threading

    caplog.set_level(logging.INFO, logger="sanctionwatch.ingest.fetch")

    url = feed_server.add("/slow.rss", body=GOOD_RSS, delay_s=3.0)
    abort = threading.Event()
    stopper = feed_server.abort_once_requested("/slow.rss", abort)
    result = fetch(url, FetchState(), FAST, client=make_client(FAST), abort=abort)
    stopper.join()
    assert result.error is not None and "aborted" in result.error
    assert feed_server.aborted_at is not None
    assert time.monotonic() - feed_server.aborted_at < 2.0  # cut short, not waited out (3 s)
    assert feed_server.hits("/slow.rss") == 1
    assert "retried" not in caplog.text


def test_concurrent_fetches_to_one_host_keep_their_connections(
    feed_server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A client made for 4 requests per host keeps 4 connections: none is dropped as "pool
    full" (urllib3 would warn) and later fetches reuse them instead of reconnecting."""
    import logging
    from concurrent.futures import ThreadPoolExecutor

    caplog.set_level(logging.WARNING, logger="urllib3")
    url = feed_server.add("/feed.rss", body=GOOD_RSS, keep_alive=True, delay_s=0.05)
    with make_client(FAST, per_host=4) as client, ThreadPoolExecutor(4) as pool:
        for _ in range(3):
            results = list(pool.map(lambda _: fetch(url, FetchState(), FAST, client), range(4)))
            assert [r.body for r in results] == [GOOD_RSS] * 4
    assert len(set(_ports(feed_server, "/feed.rss"))) <= 4  # 12 answers, 4 connections
    assert "pool is full" not in caplog.text.lower()


def test_chunked_bodies_are_read_capped_and_keep_the_connection(feed_server: FeedServer) -> None:
    url = feed_server.add("/feed.rss", body=GOOD_RSS, chunked=7, keep_alive=True)
    big = feed_server.add("/big.rss", body=b"x" * 50_000, chunked=4096, keep_alive=True)
    bomb = feed_server.add(
        "/bomb.rss", body=gzip.compress(b"\0" * 20_000_000), headers={"Content-Encoding": "gzip"},
        chunked=1024,
    )  # fmt: skip
    with make_client(FAST) as client:
        results = [fetch(url, FetchState(), FAST, client=client) for _ in range(2)]
        over = fetch(big, FetchState(), FetchSettings(max_bytes=10_000), client=client)
        bombed = fetch(bomb, FetchState(), FetchSettings(max_bytes=1_000_000), client=client)
    assert [(r.error, r.body) for r in results] == [(None, GOOD_RSS)] * 2
    assert len(set(_ports(feed_server, "/feed.rss"))) == 1
    assert (over.error, over.body) == ("body exceeds 10000 bytes cap", None)
    assert (bombed.error, bombed.body) == ("body exceeds 1000000 bytes cap", None)
