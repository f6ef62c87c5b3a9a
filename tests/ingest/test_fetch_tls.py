"""Feeds over TLS: the certificate is verified against the URL's host, the connection is
kept alive, and the total deadline and the poll's abort event hold on TLS sockets too.

The server is a real HTTPS server on 127.0.0.1 with a certificate from a throwaway CA
(trustme); the client trusts that CA only where a test says so.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from sanctionwatch.config.settings import DEFAULT_USER_AGENT, FetchSettings
from sanctionwatch.ingest.fetch import FetchClient, FetchState, fetch
from tests.support.feedserver import FeedServer

GOOD_RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
<item><title>Kim Jong-un meets Putin</title><link>https://example.org/a</link></item>
</channel></rss>"""
FAST = FetchSettings(connect_timeout_s=2.0, total_timeout_s=5.0)
DEADLINE_SLACK_S = 1.5  # a loaded 2-core machine: thread start-up and TLS handshakes


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def _server(ca: trustme.CA, *names: str) -> FeedServer:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    return FeedServer(tls=context).start()


@pytest.fixture
def tls_server(ca: trustme.CA) -> Iterator[FeedServer]:
    server = _server(ca, "127.0.0.1", "localhost")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def trusting(ca: trustme.CA, tmp_path: Path) -> Iterator[FetchClient]:
    """A client that trusts the test CA."""
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    with FetchClient(DEFAULT_USER_AGENT, cafile=str(path)) as client:
        yield client


def test_a_feed_over_tls_is_fetched_on_one_kept_alive_connection(
    tls_server: FeedServer, trusting: FetchClient
) -> None:
    url = tls_server.add("/feed.rss", body=GOOD_RSS, keep_alive=True)
    assert url.startswith("https://127.0.0.1:")
    results = [fetch(url, FetchState(), FAST, client=trusting) for _ in range(3)]
    assert [(r.status, r.error, r.body) for r in results] == [(200, None, GOOD_RSS)] * 3
    assert len({r.client_port for r in tls_server.requests}) == 1


def test_a_certificate_the_client_does_not_trust_is_refused(tls_server: FeedServer) -> None:
    url = tls_server.add("/feed.rss", body=GOOD_RSS)
    with FetchClient(DEFAULT_USER_AGENT) as client:  # certifi's CAs only
        result = fetch(url, FetchState(), FAST, client=client)
    assert result.body is None and result.error is not None
    assert result.error.startswith("TLS error with 127.0.0.1")
    assert "certificate verify failed" in result.error
    assert tls_server.requests == []


def test_a_certificate_for_another_host_is_refused(ca: trustme.CA, trusting: FetchClient) -> None:
    server = _server(ca, "feeds.example.test")
    try:
        url = server.add("/feed.rss", body=GOOD_RSS)
        result = fetch(url, FetchState(), FAST, client=trusting)
    finally:
        server.stop()
    assert result.error is not None and result.error.startswith("TLS error with 127.0.0.1")
    assert "127.0.0.1" in result.error.split(":", 1)[1]  # the mismatch names the host
    assert server.requests == []


@pytest.mark.parametrize("where", ["headers", "body"])
def test_a_trickling_tls_server_hits_the_total_deadline(
    tls_server: FeedServer, trusting: FetchClient, where: str
) -> None:
    if where == "headers":
        url = tls_server.add("/slow", body=GOOD_RSS, header_trickle_s=0.05)
    else:
        url = tls_server.add("/slow", body=GOOD_RSS * 20, trickle_s=0.02, trickle_bytes=1)
    settings = FetchSettings(total_timeout_s=1.0)
    started = time.monotonic()
    result = fetch(url, FetchState(), settings, client=trusting)
    assert result.error == "timed out after 1s (total)" and result.body is None
    assert time.monotonic() - started < 1.0 + DEADLINE_SLACK_S
    quick = tls_server.add("/quick", body=GOOD_RSS)
    assert fetch(quick, FetchState(), settings, client=trusting).body == GOOD_RSS


def test_a_stopping_poll_ends_a_tls_fetch_within_the_abort_check(
    tls_server: FeedServer, trusting: FetchClient
) -> None:
    url = tls_server.add("/slow.rss", body=GOOD_RSS, delay_s=4.0)
    abort = threading.Event()
    stopper = tls_server.abort_once_requested("/slow.rss", abort)
    result = fetch(url, FetchState(), FAST, client=trusting, abort=abort)
    stopper.join()
    assert result.error == "fetch aborted: the poll is stopping"
    assert tls_server.aborted_at is not None
    assert time.monotonic() - tls_server.aborted_at < 2.0  # cut short, not waited out (4 s)
    assert tls_server.hits("/slow.rss") == 1
