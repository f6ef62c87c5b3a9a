"""Fifty concurrent signed ``/watchlist add`` over HTTP while a poll runs: every ack inside
Slack's 3 seconds, every add applied once, every reply delivered. Prints the percentiles.

Before the ack-first rework 30 of 50 acks took over 3 s here (each command re-read every YAML
watchlist before acking). The bound asserted is Slack's own; the figures are printed so a slow
shared machine shows how much headroom is left.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from sanctionwatch.alerting.jobs import once
from sanctionwatch.cli import main as cli
from sanctionwatch.slack.poster import SlackPoster
from tests.support.app_harness import ADMIN, SLACK_DEADLINE_S, Harness, running_app, write_feed
from tests.support.response_urls import ResponseUrls
from tests.support.slack_api import TEST_TOKEN, SlackApiStub
from tests.support.slack_signing import signed_headers, slash_body

COMMANDS = 50
POLL_FEEDS = 12
POLL_ITEMS = 150  # per feed: a poll of 1,800 new items takes a few seconds on 2 cores
REPLY_DEADLINE_S = 30.0  # replies follow the ack; a response_url stays valid 30 minutes
WORDS = (
    "ministry port cargo tanker freight minister talks budget railway harbour customs"
    " shipment export treaty summit vessel container insurance broker bank"
).split()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def figures(name: str, values: list[float]) -> str:
    return (
        f"{name}: n={len(values)} p50={percentile(values, 50):.3f}s"
        f" p90={percentile(values, 90):.3f}s p99={percentile(values, 99):.3f}s"
        f" max={max(values):.3f}s mean={statistics.fmean(values):.3f}s"
    )


@pytest.fixture
def busy(tmp_path: Path, slack_api: SlackApiStub, response_urls: ResponseUrls) -> Iterator[Harness]:
    feeds = ""
    for f in range(POLL_FEEDS):
        items = [
            (
                f"f{f}-{i}",
                f"{WORDS[(f + i) % len(WORDS)].title()} news {f}-{i}",
                " ".join(WORDS[(i * 7 + k + f) % len(WORDS)] for k in range(60)),
            )
            for i in range(POLL_ITEMS)
        ]
        write_feed(tmp_path / f"busy{f}.xml", items)
        feeds += f'[[feeds]]\nname = "Busy {f}"\nurl = "busy{f}.xml"\n'
    with running_app(tmp_path, slack_api, response_urls, config_extra=feeds) as h:
        yield h


def test_fifty_concurrent_adds_during_a_poll_all_ack_in_time(busy: Harness) -> None:
    poll_started = threading.Event()
    poll_times: dict[str, float] = {}

    def poll() -> None:
        store = busy.store()
        try:
            engine_for = cli.engine_getter(busy.settings, store)
            engine_for()  # build the engine first so the burst overlaps the poll itself
            poster = SlackPoster(TEST_TOKEN, busy.stub.base_url, max_retries=0)
            poll_times["start"] = time.monotonic()
            poll_started.set()
            once(busy.settings, store, engine_for, poster, all_feeds=True)
            poll_times["end"] = time.monotonic()
        finally:
            store.close()

    poller = threading.Thread(target=poll, name="test-poll")
    poller.start()
    assert poll_started.wait(60)
    time.sleep(0.2)  # into the fetch/match/write phase

    urls = [busy.responses.new() for _ in range(COMMANDS)]
    bodies = [
        slash_body(f"add burst-ships Burst Vessel {n:02d}", ADMIN, response_url=urls[n])
        for n in range(COMMANDS)
    ]
    barrier = threading.Barrier(COMMANDS)
    sent: list[float] = [0.0] * COMMANDS
    acks: list[float] = [0.0] * COMMANDS
    statuses: list[int] = [0] * COMMANDS
    limits = httpx.Limits(max_connections=COMMANDS, max_keepalive_connections=COMMANDS)

    with httpx.Client(timeout=20, limits=limits) as http:

        def send(n: int) -> None:
            headers = signed_headers(bodies[n])
            barrier.wait()
            sent[n] = time.monotonic()
            response = http.post(busy.url, content=bodies[n], headers=headers)
            acks[n] = time.monotonic() - sent[n]
            statuses[n] = response.status_code

        with ThreadPoolExecutor(COMMANDS) as pool:
            list(pool.map(send, range(COMMANDS)))
    burst_end = time.monotonic()

    replies = [busy.responses.wait(url, timeout=REPLY_DEADLINE_S)[0] for url in urls]
    reply_lat = [busy.responses.times[url.split(str(busy.responses.port), 1)[1]][0] - sent[n]
                 for n, url in enumerate(urls)]  # fmt: skip
    poller.join(timeout=120)
    assert not poller.is_alive()

    print()
    print(figures("ack", acks))
    print(figures("reply", reply_lat))
    print(
        f"poll: {poll_times['end'] - poll_times['start']:.2f}s; burst sent"
        f" {min(sent) - poll_times['start']:.2f}s after the poll started, last ack"
        f" {burst_end - poll_times['start']:.2f}s after"
    )
    assert statuses == [200] * COMMANDS
    assert min(sent) > poll_times["start"]
    assert poll_times["end"] > min(sent), "the poll finished before the burst: not concurrent"
    slow = [round(a, 2) for a in acks if a >= SLACK_DEADLINE_S]
    assert not slow, f"{len(slow)} acks over {SLACK_DEADLINE_S}s: {slow}"
    assert all("Added *Burst Vessel" in r["text"] for r in replies), replies[:3]
    assert busy.counts() == (COMMANDS, COMMANDS)
    for url in urls:  # each reply exactly once
        assert len(busy.responses.received(url)) == 1
