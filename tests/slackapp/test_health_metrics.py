"""``serve``'s /healthz and /metrics over real HTTP: the poller's state and last cycle, 503 when
the poller thread dies, stalls, or alerts failed; the same endpoint in Socket Mode."""

from __future__ import annotations

import re
import socket
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from sanctionwatch.alerting.health import CycleSummary, PollerState, health_report
from sanctionwatch.clock import iso, utcnow
from sanctionwatch.config.settings import load_settings
from sanctionwatch.slackapp import server
from sanctionwatch.slackapp.healthcheck import main as healthcheck_main
from sanctionwatch.storage.db import Store
from tests.support.serveproc import APP_TOKEN, running_serve, serve_config, wait_until
from tests.support.slack_api import TEST_TOKEN, SlackApiStub


def test_healthz_reports_poller_and_last_cycle_and_metrics_count(
    tmp_path: Path, slack_api: SlackApiStub
) -> None:
    with running_serve(tmp_path, slack_api) as (base, _), httpx.Client(timeout=10) as http:
        body = wait_until(
            lambda: (r := http.get(base + "/healthz").json())["poller"]["last_cycle"] and r
        )
        response = http.get(base + "/healthz")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        body = response.json()
        assert body["status"] == "ok" and body["problems"] == []
        assert body["poller"]["state"] == "running" and body["poller"]["running"] is True
        last = body["poller"]["last_cycle"]
        assert last["started_at"] <= last["ended_at"]
        assert last["feeds"] == 1 and last["new_items"] == 1 and last["alerts"] >= 1
        assert body["poller"]["stale_after_s"] == 3 * 5 * 60
        assert body["feeds"] == {"total": 1, "failing": []}
        assert body["alerts"]["failed"] == 0
        metrics = http.get(base + "/metrics")
        assert metrics.status_code == 200
        assert metrics.headers["content-type"].startswith("text/plain")
        text = metrics.text
        assert 'sanctionwatch_feeds{state="ok"} 1.0' in text
        assert 'sanctionwatch_feeds{state="failing"} 0.0' in text
        assert re.search(
            r'sanctionwatch_alerts_total\{rule="[^"]+",severity="critical"\} 1\.0', text
        )
        assert "sanctionwatch_alerts_failed 0.0" in text
        assert "sanctionwatch_cycle_duration_seconds_count 1.0" in text
        assert "sanctionwatch_delivery_latency_seconds_count 1.0" in text
        assert "sanctionwatch_items_seen_total 1.0" in text
        assert "sanctionwatch_poller_up 1.0" in text
        assert 'sanctionwatch_list_age_seconds{list="dprk",source="file"}' in text
        names = {m.group(1) for m in re.finditer(r"^# TYPE (\S+)", text, re.MULTILINE)}
        assert names and all(n.startswith("sanctionwatch_") for n in names)
        port = base.rsplit(":", 1)[1]
        assert healthcheck_main(["--port", port]) == 0  # the container's probe agrees


def test_dead_poller_gives_503(
    tmp_path: Path, slack_api: SlackApiStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("poller thread dies")

    # the poller thread's loop raises (patched where serve looks it up)
    monkeypatch.setattr(server, "run_forever", crash)
    with running_serve(tmp_path, slack_api) as (base, _), httpx.Client(timeout=10) as http:
        response = wait_until(lambda: (r := http.get(base + "/healthz")).status_code == 503 and r)
        body = response.json()
        assert body["status"] == "unhealthy"
        assert body["poller"]["state"] == "dead"
        assert any("poller is not running" in p for p in body["problems"])
        assert "sanctionwatch_poller_up 0.0" in http.get(base + "/metrics").text
        port = base.rsplit(":", 1)[1]
        assert healthcheck_main(["--port", port]) == 1


def test_socket_mode_serves_health_and_logs_a_failed_connection(
    tmp_path: Path, slack_api: SlackApiStub, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as closed:  # a port nobody listens on: the websocket cannot connect
        closed.bind(("127.0.0.1", 0))
        dead_port = closed.getsockname()[1]
    slack_api.accepted_tokens = {TEST_TOKEN, APP_TOKEN}
    slack_api.on("apps.connections.open", lambda _p: {"url": f"ws://127.0.0.1:{dead_port}/"})
    caplog.set_level("INFO")
    with running_serve(tmp_path, slack_api, socket_mode=True) as (base, _):
        with httpx.Client(timeout=10) as http:
            response = http.get(base + "/healthz")
            assert response.json()["socket_mode"] == {"connected": False}
            assert response.json()["poller"]["state"] == "running"
            assert http.post(base + "/slack/events", content=b"x").status_code == 404
        wait_until(lambda: "socket mode connection failed" in caplog.text)
        assert "socket mode connected" not in caplog.text


def test_stalled_poller_and_failed_alerts_are_unhealthy(tmp_path: Path) -> None:
    settings = load_settings(str(serve_config(tmp_path)), env={}, cwd=tmp_path)
    store = Store(settings.database)
    now = utcnow()
    state = PollerState(started_at=now - timedelta(hours=2))
    ok, body = health_report(settings, store, state, True, now)
    assert not ok and "no cycle ended yet" in body["problems"][0]
    ended = now - timedelta(minutes=16)
    state.cycle_ended(CycleSummary(ended - timedelta(seconds=3), ended, 1, 0, 0, 0))
    ok, body = health_report(settings, store, state, True, now)
    assert not ok and "poller stalled" in body["problems"][0]  # 16 min > 3 x 5 min
    ok, body = health_report(settings, store, state, True, now - timedelta(minutes=14))
    assert ok, body
    store.db.execute("INSERT INTO items (item_id, feed, title) VALUES ('i1', 'Local', 't')")
    store.db.execute(
        "INSERT INTO alerts (item_id, rule, severity, channel, status, created_at)"
        " VALUES ('i1', 'r', 'high', '#x', 'failed', ?)",
        [iso(now)],
    )
    store.db.conn.commit()
    ok, body = health_report(settings, store, state, True, now - timedelta(minutes=14))
    assert not ok and body["alerts"]["failed"] == 1
    assert "1 alerts failed for good" in body["problems"][0]
    # --no-poll: no poller to judge, failed alerts still count
    ok, body = health_report(settings, store, None, None, now)
    assert body["poller"]["state"] == "disabled" and body["problems"] == [body["problems"][0]]
