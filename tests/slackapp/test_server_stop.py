"""``HttpServer.stop`` ends the server even when waitress's wake-up pipe is already gone."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterable
from typing import Any

import httpx
import pytest

from sanctionwatch.slackapp.server import HttpServer


def _hello(environ: dict[str, Any], start: Callable[..., Any]) -> Iterable[bytes]:
    start("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


def test_stop_without_the_wake_up_pipe_still_closes_the_server(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = HttpServer(_hello, "127.0.0.1", 0, threads=2).start()
    assert httpx.get(f"http://127.0.0.1:{server.port}/", timeout=5).text == "hello"
    server.server.trigger.close()  # as when the loop saw its pipe fail
    with caplog.at_level(logging.WARNING, logger="sanctionwatch.slackapp.server"):
        server.stop(grace_s=3)
    assert "could not be woken" in caplog.text
    assert server._thread is not None and not server._thread.is_alive()  # the loop ended
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", server.port), 1):
        pass  # no longer listening


def test_stop_wakes_the_loop_as_usual(caplog: pytest.LogCaptureFixture) -> None:
    server = HttpServer(_hello, "127.0.0.1", 0, threads=2).start()
    assert httpx.get(f"http://127.0.0.1:{server.port}/", timeout=5).status_code == 200
    with caplog.at_level(logging.WARNING, logger="sanctionwatch.slackapp.server"):
        server.stop(grace_s=3)
    assert "could not be woken" not in caplog.text
    assert server._thread is not None and not server._thread.is_alive()
