"""Fetching to safe addresses only: feed URLs and redirects to metadata, link-local, private
and other non-public addresses are refused where the socket is opened (issue 8).

No test here sends a packet to a non-loopback address: `loopback_only` makes every TCP
connect to anything but 127.0.0.1/::1 fail (and records it) before a packet leaves.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sanctionwatch.config.settings import FetchSettings
from sanctionwatch.ingest.fetch import FetchState, fetch, make_client
from sanctionwatch.ingest.netguard import AddressPolicy, AddressRefused, refusal, resolve_checked
from tests.support.feedserver import FeedServer
from tests.support.pipeline import QUIET, rss, run_cli, slack_env, write_config
from tests.support.slack_api import SlackApiStub

FAST = FetchSettings(connect_timeout_s=2.0, total_timeout_s=5.0)
METADATA_PATH = "/latest/meta-data/iam/security-credentials/"
LINK_LOCAL_ADVICE = "set [fetch] allow_private = true only for private ranges"


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every attempted TCP connect to a non-loopback address, refused before it is made."""
    attempted: list[str] = []
    real = socket.create_connection

    def guarded(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        host = address[0]
        if not ipaddress.ip_address(host).is_loopback:
            attempted.append(host)
            raise ConnectionRefusedError(f"test: no traffic to {host}")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", guarded)
    yield attempted


def _resolver(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[list[str]]]) -> list[str]:
    """A resolver for made-up names: each lookup of a name pops its next answer."""
    real = socket.getaddrinfo
    looked_up: list[str] = []

    def fake(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in answers:
            looked_up.append(host)
            ips = answers[host].pop(0) if len(answers[host]) > 1 else answers[host][0]
            return [
                (socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (ip, port) if ":" not in ip else (ip, port, 0, 0))
                for ip in ips
            ]  # fmt: skip
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return looked_up


@pytest.mark.parametrize(
    ("location", "shown"),
    [
        ("http://169.254.169.254" + METADATA_PATH, "169.254.169.254"),
        ("http://[::ffff:169.254.169.254]/", "[::ffff:169.254.169.254]"),
        ("http://2852039166/", "2852039166 (resolves to 169.254.169.254,"),  # decimal form
        ("http://0xa9.0xfe.0xa9.0xfe/", "(resolves to 169.254.169.254,"),  # hex form
        ("http://025177524776/", "(resolves to 169.254.169.254,"),  # octal form
        ("http://[fe80::1]/", "[fe80::1]"),
        ("http://[fd00:ec2::254]/", "[fd00:ec2::254]"),  # AWS IPv6 metadata, in fc00::/7
    ],
)
def test_redirect_to_link_local_or_metadata_is_refused_even_with_allow_private(
    feed_server: FeedServer, loopback_only: list[str], location: str, shown: str
) -> None:
    url = feed_server.add("/feed.xml", status=302, redirect_to=location)
    for settings in (FAST, FetchSettings(total_timeout_s=5.0, allow_private=True)):
        result = fetch(url, FetchState(), settings)
        assert result.body is None and result.status is None
        assert result.error is not None and result.error.startswith("refused: redirect to ")
        assert shown in result.error
        assert "link-local/metadata address)" in result.error
        assert result.error.endswith(LINK_LOCAL_ADVICE)
    assert loopback_only == []  # refused before any connect was tried


def test_dotted_octal_form_is_rejected_and_never_contacted(
    feed_server: FeedServer, loopback_only: list[str]
) -> None:
    url = feed_server.add("/feed.xml", status=302, redirect_to="http://0251.0376.0251.0376/")
    result = fetch(url, FetchState(), FAST)
    assert result.body is None and result.error is not None
    assert "0251.0376.0251.0376" in result.error  # httpx itself rejects this spelling
    assert loopback_only == [] and feed_server.hits("/feed.xml") == 1


def test_exact_message_for_a_metadata_redirect(feed_server: FeedServer) -> None:
    url = feed_server.add("/feed.xml", status=301, redirect_to="http://169.254.169.254/")
    assert fetch(url, FetchState(), FAST).error == (
        "refused: redirect to 169.254.169.254 (link-local/metadata address); " + LINK_LOCAL_ADVICE
    )


def test_redirect_to_a_private_address_is_refused_by_default(
    feed_server: FeedServer, loopback_only: list[str]
) -> None:
    url = feed_server.add("/feed.xml", status=307, redirect_to="http://10.0.0.1/feed.xml")
    result = fetch(url, FetchState(), FAST)
    assert result.error == (
        "refused: redirect to 10.0.0.1 (private address); "
        "set [fetch] allow_private = true to fetch from private networks"
    )
    assert loopback_only == []


def test_with_allow_private_a_private_redirect_is_attempted(
    feed_server: FeedServer, loopback_only: list[str]
) -> None:
    # The connect is made (and refused by the loopback_only fixture before any packet).
    url = feed_server.add("/feed.xml", status=307, redirect_to="http://10.0.0.1/feed.xml")
    result = fetch(url, FetchState(), FetchSettings(total_timeout_s=5.0, allow_private=True))
    assert loopback_only == ["10.0.0.1"]
    assert result.error == "connection refused by 10.0.0.1"


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://METADATA.google.internal./",
        "http://0.0.0.0/",
        "http://[::]/",
        "http://224.0.0.1/",
        "http://[ff02::1]/",
        "http://255.255.255.255/",
        "http://240.0.0.1/",
    ],
)
def test_feed_urls_to_never_allowed_addresses_are_refused(
    url: str, loopback_only: list[str]
) -> None:
    result = fetch(url, FetchState(), FetchSettings(total_timeout_s=5.0, allow_private=True))
    assert result.error is not None and result.error.startswith("refused: feed URL host ")
    assert result.error.endswith(LINK_LOCAL_ADVICE), result.error
    assert loopback_only == []


@pytest.mark.parametrize(
    ("address", "category"),
    [
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.254", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "private"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("::ffff:192.168.1.1", "private"),
        ("198.18.0.1", "special-purpose"),
        ("192.0.2.10", "special-purpose"),
    ],
)
def test_private_ranges_are_allowed_only_with_allow_private(address: str, category: str) -> None:
    ip = ipaddress.ip_address(address)
    assert refusal(ip, AddressPolicy(allow_private=False)) == category
    assert refusal(ip, AddressPolicy(allow_private=True)) is None


@pytest.mark.parametrize(
    ("address", "category"),
    [
        ("169.254.169.254", "link-local/metadata"),
        ("169.254.1.1", "link-local/metadata"),
        ("fe80::1", "link-local/metadata"),
        ("fd00:ec2::254", "link-local/metadata"),
        ("100.100.100.200", "link-local/metadata"),  # Alibaba metadata, inside 100.64/10
        ("::ffff:169.254.169.254", "link-local/metadata"),
        ("64:ff9b::a9fe:a9fe", "link-local/metadata"),  # NAT64 spelling
        ("2002:a9fe:a9fe::1", "link-local/metadata"),  # 6to4 spelling
        ("224.0.0.251", "multicast"),
        ("ff02::fb", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "unspecified"),
        ("::", "unspecified"),
        ("255.255.255.255", "reserved/broadcast"),
        ("240.0.0.1", "reserved/broadcast"),
    ],
)
def test_never_allowed_addresses(address: str, category: str) -> None:
    ip = ipaddress.ip_address(address)
    for policy in (AddressPolicy(allow_private=False), AddressPolicy(allow_private=True)):
        assert refusal(ip, policy) == category


@pytest.mark.parametrize("address", ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1",
                                     "93.184.216.34", "2606:4700::1111"])  # fmt: skip
def test_loopback_and_public_addresses_are_allowed(address: str) -> None:
    assert refusal(ipaddress.ip_address(address), AddressPolicy()) is None


def test_a_name_with_any_forbidden_address_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    _resolver(monkeypatch, {"mixed.example.test": [["127.0.0.1", "169.254.169.254"]]})
    with pytest.raises(AddressRefused) as caught:
        resolve_checked("mixed.example.test", 80, AddressPolicy(allow_private=True))
    assert caught.value.address == "169.254.169.254"
    assert caught.value.describe("feed URL host") == (
        "refused: feed URL host mixed.example.test (resolves to 169.254.169.254, "
        "link-local/metadata address); " + LINK_LOCAL_ADVICE
    )


def test_dns_rebinding_cannot_switch_the_address_after_the_check(
    feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch, loopback_only: list[str]
) -> None:
    """The name resolves to loopback once, then to the metadata address: the connection is
    made to the checked address (one lookup of the name), so the switch has no effect."""
    port = int(feed_server.base_url.rsplit(":", 1)[1])
    feed_server.add("/feed.xml", body=rss(QUIET))
    looked_up = _resolver(
        monkeypatch, {"rebind.example.test": [["127.0.0.1"], ["169.254.169.254"]]}
    )
    with make_client(FAST) as client:
        result = fetch(f"http://rebind.example.test:{port}/feed.xml", FetchState(), FAST, client)
    assert result.error is None and result.status == 200
    assert looked_up == ["rebind.example.test"]  # resolved once; the socket used that answer
    assert loopback_only == []
    # a fresh client: the next lookup now answers the metadata address, and is refused
    result = fetch(f"http://rebind.example.test:{port}/feed.xml", FetchState(), FAST)
    assert result.error is not None and "resolves to 169.254.169.254" in result.error


def test_a_shared_client_checks_every_redirect_hop(
    feed_server: FeedServer, loopback_only: list[str]
) -> None:
    ok = feed_server.add("/ok.xml", body=rss(QUIET), keep_alive=True)
    url = feed_server.add("/feed.xml", status=302, redirect_to="http://169.254.169.254/")
    with make_client(FAST) as client:
        assert fetch(ok, FetchState(), FAST, client=client).status == 200
        result = fetch(url, FetchState(), FAST, client=client)
    assert result.error is not None and result.error.startswith("refused: redirect to 169.254")
    assert loopback_only == []


def test_loopback_feeds_still_work(feed_server: FeedServer) -> None:
    url = feed_server.add("/feed.xml", body=rss(QUIET))
    assert fetch(url, FetchState(), FAST).status == 200
    assert fetch(url.replace("127.0.0.1", "localhost"), FetchState(), FAST).status == 200


def test_refused_redirect_is_recorded_on_the_feed_and_shown(
    tmp_path: Path,
    feed_server: FeedServer,
    slack_api: SlackApiStub,
    monkeypatch: pytest.MonkeyPatch,
    loopback_only: list[str],
) -> None:
    slack_env(monkeypatch, slack_api.base_url)
    feed_server.add("/ok.xml", body=rss(QUIET))
    feed_server.add("/evil.xml", status=302, redirect_to="http://169.254.169.254" + METADATA_PATH)
    feed_server.add("/lan.xml", status=302, redirect_to="http://192.168.0.10/feed.xml")
    cfg = write_config(
        tmp_path,
        [
            ("Ok", feed_server.url("/ok.xml")),
            ("Evil", feed_server.url("/evil.xml")),
            ("Lan", feed_server.url("/lan.xml")),
        ],  # fmt: skip
    )
    assert run_cli(["run", "--once", "--config", str(cfg)])[0] == 0
    assert loopback_only == []
    code, out = run_cli(["feeds", "--json", "--config", str(cfg)])
    rows = {row["name"]: row for row in json.loads(out)}
    assert rows["Ok"]["last_error"] is None
    assert rows["Evil"]["last_error"] == (
        "refused: redirect to 169.254.169.254 (link-local/metadata address); " + LINK_LOCAL_ADVICE
    )
    assert rows["Lan"]["last_error"].startswith("refused: redirect to 192.168.0.10 (private")
    code, text = run_cli(["status", "--config", str(cfg)])
    assert code == 1 and "Evil" in text and "Lan" in text
