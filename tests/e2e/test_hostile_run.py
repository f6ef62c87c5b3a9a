"""One `run --once` over every kind of hostile or broken feed beside good ones (issue 5).

The run is a real `python bot.py run --once` subprocess (so its peak memory can be measured)
against feeds served on 127.0.0.1 and the Slack stand-in. It must finish, exit 0, deliver the
good feeds' alerts, stay under a few hundred MB, record a clear error per bad feed, never
expand an XML bomb or resolve an external entity, and never put a non-http(s) link in Slack.
"""

from __future__ import annotations

import gzip
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.feedserver import FeedServer
from tests.support.paths import FIXTURES, REPO
from tests.support.pipeline import (
    ALERTING,
    QUIET,
    TOKEN,
    FeedItem,
    rss,
    run_cli,
    slack_env,
    write_config,
)
from tests.support.slack_api import SlackApiStub

FEED_FIXTURES = FIXTURES / "feeds"
SECRET = "XXE-SECRET-1b7e44"
MAX_RSS_MB = 300  # issue 5: "stays under a few hundred MB"
TOTAL_TIMEOUT_S = 2  # fetch.total_timeout_s for the run (default 30; kept short for the test)
RUN_TIMEOUT_S = 90  # the whole subprocess; a hung run fails the test instead of hanging CI
BOMB_BYTES = 512 * 1024 * 1024  # decompressed size of the gzip/deflate bombs
ENDLESS_CHUNK = 64 * 1024
NON_HTTP_LINKS = ("javascript:", "file:", "data:", "vbscript:")


class EndlessServer:
    """Answers every request with 200 and an endless body (no Content-Length), until stopped:
    the 'body of hundreds of MB' case without holding hundreds of MB in the test."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.stopping = threading.Event()
        self.sent = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/huge.xml"

    def _serve(self) -> None:
        chunk = b"<item><title>" + b"A" * (ENDLESS_CHUNK - 40) + b"</title></item>\n"
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(65536)
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
                    b"Connection: close\r\n\r\n<?xml version='1.0'?><rss><channel>"
                )
                try:
                    while not self.stopping.is_set():
                        conn.sendall(chunk)
                        self.sent += len(chunk)
                except OSError:
                    pass  # the client hung up: what we want

    def __enter__(self) -> EndlessServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)
        self.sock.close()


def _bomb(kind: str) -> bytes:
    """BOMB_BYTES of zeros compressed (about 0.5 MB on the wire)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31 if kind == "gzip" else 15)
    block = bytes(1024 * 1024)
    parts = [comp.compress(block) for _ in range(BOMB_BYTES // len(block))]
    return b"".join(parts) + comp.flush()


# Items a hostile feed carries: alerting text behind links that must never reach Slack.
BAD_LINK_ITEMS = [
    FeedItem("North Korea sends artillery shells to Russia by rail, Kyiv says",
             "Ukrainian intelligence said Pyongyang shipped artillery shells to Russia.",
             "javascript:alert(document.cookie)"),
    FeedItem("Kim Jong Un meets Putin to discuss missile deliveries",
             "North Korean leader Kim Jong-un and Vladimir Putin discussed arms deliveries.",
             "file:///etc/passwd"),
    FeedItem("KN-23 missiles from North Korea hit Kharkiv",
             "Pyongyang supplied Russia with KN-23 ballistic missiles, prosecutors said.",
             "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="),
]  # fmt: skip


def _odd_items_feed() -> bytes:
    """No guid/link/title, future and unparseable dates, duplicate guids, a guid-only item."""
    return b"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Odd</title>
<item><description>No title, no link, no guid: Choe Son Hui visits Moscow.</description></item>
<item><title>From the future</title><guid>dup</guid><pubDate>Thu, 01 Jan 2099 00:00:00 GMT</pubDate></item>
<item><title>Same guid again</title><guid>dup</guid><pubDate>yesterday-ish, 25:61</pubDate></item>
<item><title></title><link></link><guid></guid></item>
<item><title>Odd date format</title><pubDate>2024/13/45 99:99</pubDate><link>https://odd.example.org/x</link></item>
</channel></rss>"""  # noqa: E501


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(SECRET, encoding="utf-8")
    return path


def _serve_hostile(
    server: FeedServer, secret_file: Path, huge_url: str, tmp_path: Path
) -> dict[str, str]:
    """Register every hostile route; returns {feed name: url}."""
    add = server.add
    fx = FEED_FIXTURES
    base = server.base_url.encode()
    # side doors that XXE / DTD retrieval would hit: must stay at zero requests
    for door in ("/xxe-entity", "/xxe-param", "/evil.dtd"):
        add(door, body=f'<!ENTITY leak "{SECRET}">'.encode(), content_type="text/plain")
    feeds = {
        # timeouts
        "Silent": add("/silent.xml", delay_s=120, body=rss(ALERTING)),
        "Trickle": add("/trickle.xml", body=rss(ALERTING), trickle_s=0.05, trickle_bytes=1),
        "HeaderTrickle": add("/htrickle.xml", body=rss(ALERTING), header_trickle_s=0.2),
        # size
        "Huge": huge_url,
        "GzipBomb": add("/gzbomb.xml", body=_bomb("gzip"), headers={"Content-Encoding": "gzip"}),
        "DeflateBomb": add(
            "/dfbomb.xml", body=_bomb("deflate"), headers={"Content-Encoding": "deflate"}
        ),
        # XML attacks
        "BillionLaughs": add("/laughs.xml", body=(fx / "billion_laughs.xml").read_bytes()),
        "XxeFile": add(
            "/xxe-file.xml",
            body=(fx / "xxe_file.xml").read_bytes().replace(b"{SECRET_PATH}", str(secret_file).encode()),
        ),
        "XxeUrl": add(
            "/xxe-url.xml", body=(fx / "xxe_url.xml").read_bytes().replace(b"{SERVER}", base)
        ),
        "ExternalDtd": add(
            "/dtd.xml", body=(fx / "dtd_external.xml").read_bytes().replace(b"{SERVER}", base)
        ),
        # HTTP-level failures
        "RedirectLoop": add("/loop-a", status=302, redirect_to="/loop-b"),
        "RedirectChain": add("/chain/0", status=301, redirect_to="/chain/1"),
        "NotFound": server.url("/no-such-feed.xml"),
        "Gone": add("/gone.xml", status=410, body=b"gone", content_type="text/plain"),
        "RateLimited": add("/429.xml", status=429, headers={"Retry-After": "3600"}),
        "Unavailable": add("/503.xml", status=503, headers={"Retry-After": "120"}),
        "ServerError": add("/500.xml", status=500, body=b"Traceback...", content_type="text/plain"),
        "Tls": server.url("/tls.xml").replace("http://", "https://"),
        "ConnRefused": f"http://127.0.0.1:{_closed_port()}/feed.xml",
        # not feeds
        "Html": add("/page.html", body=(fx / "html_page.html").read_bytes(), content_type="text/html"),
        "Empty": add("/empty.xml", body=b""),
        "Garbage": add("/garbage.xml", body=bytes(range(256)) * 64,
                       content_type="application/octet-stream"),
        # broken but recoverable documents: items still come through, safely
        "HostileItems": add("/hostile-items.rss", body=(fx / "hostile_items.rss").read_bytes()),
        "BadLinks": add("/bad-links.rss", body=rss(BAD_LINK_ITEMS)),
        "OddItems": add("/odd.rss", body=_odd_items_feed()),
        "WrongCharset": add(
            "/big5.xml", body=(fx / "corpus" / "encoding_big5.xml").read_bytes(),
            content_type="application/rss+xml; charset=utf-8",
        ),
        "Utf16": add("/utf16.xml", body=(fx / "corpus" / "encoding_utf-16le-bom.xml").read_bytes()),
        "IncompleteCdata": add(
            "/cdata.xml", body=(fx / "corpus" / "illformed_rss_incomplete_cdata.xml").read_bytes()
        ),
        "Gb2312Real": add("/gb2312.xml", body=(fx / "real" / "encoding-gb2312.xml").read_bytes(),
                          content_type="text/xml"),
        "Guardian": add("/guardian.rss", body=(fx / "real" / "guardian.rss").read_bytes()),
        "MissingFile": str(tmp_path / "no-such-feed.xml"),
    }  # fmt: skip
    for i in range(1, 12):
        add(f"/chain/{i}", status=301, redirect_to=f"/chain/{i + 1}")
    add("/loop-b", status=302, redirect_to="/loop-a")
    return feeds


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# name → a substring its recorded error must contain (lower-cased comparison)
EXPECTED_ERRORS = {
    "Silent": "timed out",
    "Trickle": "timed out",
    "HeaderTrickle": "timed out",
    "Huge": "cap",
    "GzipBomb": "cap",
    "DeflateBomb": "cap",
    "RedirectLoop": "redirect loop",
    "RedirectChain": "too many redirects",
    "NotFound": "404",
    "Gone": "410",
    "RateLimited": "429",
    "Unavailable": "503",
    "ServerError": "500",
    "Tls": "tls",
    "ConnRefused": "refused",
    "Html": "html",
    "Empty": "empty",
    "Garbage": "",  # any clear message; asserted non-empty
    "MissingFile": "not found",
}
GOOD = {"Good1": ALERTING[:2] + QUIET, "Good2": ALERTING[2:] + QUIET[:1]}


def _db(path: Path, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql, args).fetchall()


def _slack_payloads(stub: SlackApiStub) -> list[str]:
    return [
        str(c.params.get("text", "")) + str(c.params.get("blocks", ""))
        for c in stub.calls_to("chat.postMessage")
    ]


@pytest.fixture
def endless() -> Iterator[EndlessServer]:
    with EndlessServer() as server:
        yield server


def test_one_run_over_every_hostile_feed(
    tmp_path: Path,
    feed_server: FeedServer,
    slack_api: SlackApiStub,
    secret_file: Path,
    endless: EndlessServer,
) -> None:
    feeds = _serve_hostile(feed_server, secret_file, endless.url, tmp_path)
    for name, items in GOOD.items():
        feeds[name] = feed_server.add(f"/{name}.xml", body=rss(items))
    cfg = write_config(
        tmp_path,
        list(feeds.items()),
        extra=f"[fetch]\ntotal_timeout_s = {TOTAL_TIMEOUT_S}\nconnect_timeout_s = 1\n"
        "[poll]\nmax_workers = 8\n",
    )
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_API_URL": slack_api.base_url,
        "SANCTIONWATCH_CONFIG": "",
    }
    started = time.monotonic()
    # RUSAGE_CHILDREN of this (pytest) process would report the largest child of any earlier
    # test; a small wrapper process reports the peak of this run's process tree alone.
    wrapper = (
        "import resource, subprocess, sys\n"
        "code = subprocess.call(sys.argv[1:])\n"
        "sys.stderr.write('\\npeak_kib=%d\\n' % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
        "sys.exit(code)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", wrapper,
         sys.executable, str(REPO / "bot.py"), "run", "--once", "--config", str(cfg)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    peak_line = proc.stderr.rstrip().rsplit("\n", 1)[-1]
    assert peak_line.startswith("peak_kib="), proc.stderr[-3000:]
    peak_mb = int(peak_line.removeprefix("peak_kib=")) / 1024  # Linux: KiB
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert peak_mb < MAX_RSS_MB, f"peak RSS {peak_mb:.0f} MB"
    # Timeouts run in parallel: the run is bounded by a few total timeouts, not their sum.
    assert elapsed < RUN_TIMEOUT_S / 2, elapsed
    assert endless.sent < 64 * 1024 * 1024  # the client hung up soon after the 10 MB cap

    db = tmp_path / "sw.db"
    errors = dict(_db(db, "SELECT name, last_error FROM feeds"))
    assert set(errors) == set(feeds)
    for name, expected in EXPECTED_ERRORS.items():
        error = errors[name]
        assert error, f"feed {name}: no error recorded"
        assert expected in error.lower(), f"feed {name}: {error!r}"
        assert "\n" not in error and len(error) < 500, f"feed {name}: not one clear line"
    for name in GOOD:
        assert errors[name] is None, (name, errors[name])
    assert _db(db, "SELECT gone FROM feeds WHERE name='Gone'")[0][0] == 1

    # the good feeds' alerts are delivered, each once
    payloads = _slack_payloads(slack_api)
    for item in ALERTING:
        hits = [p for p in payloads if item.title in p]
        assert len(hits) == 1, (item.title, len(hits))
    assert _db(db, "SELECT count(*) FROM alerts WHERE status != 'delivered'")[0][0] == 0

    # no non-http(s) link reaches Slack, though those items alert
    bad_link_alerts = _db(
        db, "SELECT count(*) FROM alerts a JOIN items i USING (item_id) WHERE i.feed='BadLinks'"
    )[0][0]
    assert bad_link_alerts >= 1
    for payload in payloads:
        lowered = payload.lower()
        assert not any(f"<{scheme}" in lowered for scheme in NON_HTTP_LINKS), payload[:300]
        assert "/etc/passwd" not in lowered
    stored_links = [r[0] for r in _db(db, "SELECT link FROM items WHERE link IS NOT NULL")]
    assert stored_links and all(link.startswith(("http://", "https://")) for link in stored_links)

    # XML attacks: nothing expanded, no file read, no side request
    everything = "\n".join(
        str(v) for row in _db(db, "SELECT title, summary, guid FROM items") for v in row
    )
    assert SECRET not in everything and SECRET not in "".join(payloads)
    assert "lollol" not in everything
    for door in ("/xxe-entity", "/xxe-param", "/evil.dtd"):
        assert feed_server.hits(door) == 0, door
    recovered = {r[0] for r in _db(db, "SELECT DISTINCT feed FROM items")}
    assert {"BillionLaughs", "XxeFile", "HostileItems", "OddItems", "Guardian"} <= recovered

    # odd items: duplicate guid recorded once, the untitled/unlinked item still has an id
    odd = _db(db, "SELECT item_id, title FROM items WHERE feed = 'OddItems'")
    assert len({r[0] for r in odd}) == len(odd) >= 3
    # the summary line names every failed feed
    for name in EXPECTED_ERRORS:
        assert f"feed {name!r}" in proc.stderr


def test_dns_failure_is_recorded_beside_a_good_feed(
    tmp_path: Path,
    feed_server: FeedServer,
    slack_api: SlackApiStub,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # In-process: the resolver is replaced for one name so no DNS query leaves the machine.
    real = socket.getaddrinfo

    def resolver(host: str, *args: object, **kwargs: object) -> object:
        if isinstance(host, str) and host.endswith(".invalid"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    slack_env(monkeypatch, slack_api.base_url)
    good = feed_server.add("/good.xml", body=rss(ALERTING[:1]))
    cfg = write_config(tmp_path, [("Good", good), ("Nowhere", "https://feeds.nowhere.invalid/rss")])
    assert run_cli(["run", "--once", "--config", str(cfg)])[0] == 0
    errors = dict(_db(tmp_path / "sw.db", "SELECT name, last_error FROM feeds"))
    assert errors["Good"] is None
    assert errors["Nowhere"] == "DNS lookup failed for host feeds.nowhere.invalid"
    assert any(ALERTING[0].title in p for p in _slack_payloads(slack_api))


def test_gzip_served_feed_still_works(
    tmp_path: Path,
    feed_server: FeedServer,
    slack_api: SlackApiStub,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The bomb defence must not break honest compression."""
    slack_env(monkeypatch, slack_api.base_url)
    body = rss(ALERTING[:1])
    url = feed_server.add("/gz.xml", body=gzip.compress(body), headers={"Content-Encoding": "gzip"})
    cfg = write_config(tmp_path, [("Gz", url)])
    assert run_cli(["run", "--once", "--config", str(cfg)])[0] == 0
    assert _db(tmp_path / "sw.db", "SELECT last_error, items_seen FROM feeds")[0] == (None, 1)
