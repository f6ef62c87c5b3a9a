"""A local stand-in for Slack's ``response_url``: records what the app posts to it.

A slash command's payload carries a ``response_url``; the app acks at once and sends its reply
there later (ephemeral). ``urls.new()`` hands out a fresh URL on this 127.0.0.1 server to put in
a signed command body, ``urls.wait(url)`` returns the JSON bodies posted to it.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

WAIT_S = 10.0  # generous: a shared 2-core machine can be slow, and a reply never comes twice


class ResponseUrls:
    def __init__(self) -> None:
        self.posts: dict[str, list[dict[str, Any]]] = {}
        self.times: dict[str, list[float]] = {}  # time.monotonic() of each post
        self.cond = threading.Condition()
        self._ids = itertools.count(1)
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with owner.cond:
                    owner.posts.setdefault(self.path, []).append(body)
                    owner.times.setdefault(self.path, []).append(time.monotonic())
                    owner.cond.notify_all()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def new(self) -> str:
        return f"http://127.0.0.1:{self.port}/commands/T0/{next(self._ids)}/x"

    def received(self, url: str) -> list[dict[str, Any]]:
        path = url.split(str(self.port), 1)[1]
        with self.cond:
            return list(self.posts.get(path, []))

    def wait(self, url: str, count: int = 1, timeout: float = WAIT_S) -> list[dict[str, Any]]:
        path = url.split(str(self.port), 1)[1]
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.posts.get(path, [])) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no reply posted to {url} within {timeout:g}s")
                self.cond.wait(left)
            return list(self.posts[path])

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def response_urls() -> Iterator[ResponseUrls]:
    urls = ResponseUrls()
    try:
        yield urls
    finally:
        urls.stop()
