"""``GET /healthz`` (JSON, 503 when unhealthy) and ``GET /metrics`` (Prometheus) for ``serve``.

The same two endpoints answer in HTTP mode (in front of the bolt app) and in Socket Mode (the
port then serves only them), so one container healthcheck and one scrape config fit both.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST

from sanctionwatch.alerting.health import PollerState, health_report
from sanctionwatch.config.settings import Settings
from sanctionwatch.slackapp.metrics import build_registry, render
from sanctionwatch.storage.db import Store

log = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
WsgiApp = Callable[..., Iterable[bytes]]


@dataclass
class Monitor:
    """What ``/healthz`` and ``/metrics`` read: the settings, a store for the calling thread,
    the poller's state and thread (None with ``--no-poll``), and extra facts (Socket Mode's
    connection) shown in the health answer without deciding it."""

    settings: Settings
    store_for: Callable[[], Store]
    state: PollerState | None = None
    poller: threading.Thread | None = None
    facts: dict[str, Callable[[], Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.registry = build_registry(self.settings, self.store_for, self.state, self.poller_alive)

    def poller_alive(self) -> bool | None:
        return None if self.poller is None else self.poller.is_alive()

    def health(self) -> tuple[bool, dict[str, Any]]:
        ok, body = health_report(self.settings, self.store_for(), self.state, self.poller_alive())
        for name, fact in self.facts.items():
            body[name] = fact()
        return ok, body

    def wrap(self, inner: WsgiApp | None = None) -> WsgiApp:
        """``inner`` with the two endpoints in front; without ``inner`` other paths are 404."""

        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            path, method = environ.get("PATH_INFO"), environ.get("REQUEST_METHOD")
            if method == "GET" and path == HEALTH_PATH:
                return self._health(start_response)
            if method == "GET" and path == METRICS_PATH:
                return _answer(start_response, "200 OK", CONTENT_TYPE_LATEST, self._metrics())
            if inner is not None:
                return inner(environ, start_response)
            return _answer(start_response, "404 Not Found", "text/plain", b"not found\n")

        return app

    def _health(self, start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            ok, body = self.health()
        except Exception as exc:  # a locked or broken database: unhealthy, and say why
            log.exception("health check failed")
            ok, body = False, {"status": "unhealthy", "problems": [f"health check failed: {exc}"]}
        payload = (json.dumps(body, ensure_ascii=False, indent=2) + "\n").encode()
        status = "200 OK" if ok else "503 Service Unavailable"
        return _answer(start_response, status, "application/json", payload)

    def _metrics(self) -> bytes:
        return render(self.registry)


def _answer(
    start_response: Callable[..., Any], status: str, content_type: str, body: bytes
) -> list[bytes]:
    start_response(
        status,
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
        ],
    )
    return [body]
