"""SIGTERM/SIGINT stop `run` (forever mode) within seconds; a second `run` on the same
database refuses to start, naming the process that holds it (issue 5)."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import pytest

from sanctionwatch.config.settings import FetchSettings
from sanctionwatch.ingest.fetch import FetchState, fetch, make_client
from sanctionwatch.ingest.netdeadline import ABORT_CHECK_S
from tests.support.botproc import LOCK_EXIT_CODE, WAIT_S, polled, start_bot, wait_running
from tests.support.feedserver import FeedServer
from tests.support.pipeline import ALERTING, rss, write_config
from tests.support.slack_api import SlackApiStub

STOP_WITHIN_S = 5.0  # "exits within a few seconds"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_stops_forever_mode_cleanly(
    tmp_path: Path, feed_server: FeedServer, slack_api: SlackApiStub, sig: signal.Signals
) -> None:
    feed_server.add("/news.xml", body=rss(ALERTING))
    cfg = write_config(tmp_path, [("News", feed_server.url("/news.xml"))])
    proc = start_bot(cfg, slack_api)
    wait_running(lambda: polled(tmp_path / "sw.db", "News") and slack_api.messages, proc)
    sent = time.monotonic()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=WAIT_S)
    assert time.monotonic() - sent < STOP_WITHIN_S
    assert proc.returncode == 0, err[-2000:]
    assert "scheduler stopped" in err
    assert "Traceback" not in err
    # the lock went with it: a new run starts at once and posts nothing twice
    before = len(slack_api.messages)
    again = start_bot(cfg, slack_api, "--once")
    assert again.wait(timeout=WAIT_S) == 0
    assert len(slack_api.messages) == before


def test_sigterm_during_a_hanging_fetch_exits_within_seconds(
    tmp_path: Path, feed_server: FeedServer, slack_api: SlackApiStub
) -> None:
    feed_server.add("/fast.xml", body=rss(ALERTING[:1]))
    feed_server.add("/hang.xml", body=rss(ALERTING[1:]), delay_s=60)
    cfg = write_config(
        tmp_path,
        [("Fast", feed_server.url("/fast.xml")), ("Hang", feed_server.url("/hang.xml"))],
        extra="[fetch]\ntotal_timeout_s = 8\n",  # > STOP_WITHIN_S, short for CI
    )
    proc = start_bot(cfg, slack_api)
    wait_running(
        lambda: feed_server.hits("/hang.xml") == 1 and polled(tmp_path / "sw.db", "Fast"), proc
    )
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=WAIT_S + 30)
    took = time.monotonic() - sent
    assert took < STOP_WITHIN_S, f"took {took:.1f}s to stop; stderr: {err[-1500:]}"
    assert proc.returncode == 0, err[-2000:]
    # the unfinished feed is left for the next start
    assert not polled(tmp_path / "sw.db", "Hang")


def test_abort_ends_a_hanging_fetch_within_a_check_interval(feed_server: FeedServer) -> None:
    """The mechanism behind the test above, in-process: a stop reaches a blocked read."""
    feed_server.add("/hang.xml", body=rss(ALERTING), delay_s=60)
    settings = FetchSettings(total_timeout_s=20)
    abort = threading.Event()
    set_after_s = 0.3
    timer = threading.Timer(set_after_s, abort.set)
    started = time.monotonic()
    timer.start()
    with make_client(settings) as client:
        result = fetch(feed_server.url("/hang.xml"), FetchState(), settings, client, abort)
    took = time.monotonic() - started
    assert result.error is not None and "aborted" in result.error, result.error
    assert set_after_s <= took < set_after_s + ABORT_CHECK_S + 0.5, took
    # without an abort event the same client still waits for the server (no early give-up)
    feed_server.add("/slow.xml", body=rss(ALERTING), delay_s=ABORT_CHECK_S * 1.5)
    with make_client(settings) as client:
        slow = fetch(
            feed_server.url("/slow.xml"), FetchState(), settings, client, threading.Event()
        )
    assert slow.error is None and slow.status == 200


def test_second_run_refuses_and_names_the_first(
    tmp_path: Path, feed_server: FeedServer, slack_api: SlackApiStub
) -> None:
    feed_server.add("/news.xml", body=rss(ALERTING[:1]))
    cfg = write_config(tmp_path, [("News", feed_server.url("/news.xml"))])
    first = start_bot(cfg, slack_api)
    try:
        wait_running(lambda: polled(tmp_path / "sw.db", "News"), first)
        for args in ((), ("--once",)):
            second = start_bot(cfg, slack_api, *args)
            _, err = second.communicate(timeout=WAIT_S)
            assert second.returncode == LOCK_EXIT_CODE, err
            assert f"pid {first.pid}" in err
            assert "sw.db" in err and "hint:" in err
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=WAIT_S)
    assert first.returncode == 0
