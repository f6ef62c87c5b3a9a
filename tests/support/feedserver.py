"""A real HTTP server on 127.0.0.1 for feed-fetching tests.

Routes are registered per path with the response to give: status, headers, body, delays,
trickling (headers or body a few bytes at a time), ETag/Last-Modified with 304 handling,
redirects and gzip. Every request received is recorded, so tests can assert that a URL was
never requested (XXE). All waits end promptly when the server stops.

Use the `feed_server` fixture: `pytest_plugins = ["tests.support.feedserver"]` in a test module.
"""

from __future__ import annotations

import gzip
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

# How often serve_forever checks for shutdown: short so fixture teardown is quick.
SHUTDOWN_POLL_S = 0.02
REASONS = {200: "OK", 301: "Moved Permanently", 302: "Found", 304: "Not Modified",
           307: "Temporary Redirect", 404: "Not Found", 410: "Gone", 429: "Too Many Requests",
           500: "Internal Server Error", 503: "Service Unavailable"}  # fmt: skip


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str | None = "application/rss+xml; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # wait before sending anything
    header_trickle_s: float = 0.0  # send the header block one byte per interval
    trickle_s: float = 0.0  # body: wait between chunks of trickle_bytes
    trickle_bytes: int = 1
    etag: str | None = None  # answer 304 when If-None-Match matches
    last_modified: str | None = None  # answer 304 when If-Modified-Since matches exactly
    gzip: bool = False  # gzip the body and say so
    redirect_to: str | None = None  # path or URL for a Location header (status 301..308)
    content_length: bool = True  # send Content-Length (else close-delimited body)
    reason: str | None = None  # reason phrase sent as is (hostile ones included)
    drop_first: int = 0  # close the connection without an answer to this many requests
    keep_alive: bool = False  # keep the connection open after the answer (else close it)
    chunked: int = 0  # send the body with Transfer-Encoding: chunked, chunks of this size


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    headers: dict[str, str]
    client_port: int = 0  # the client's end of the connection: same port, same connection


class FeedServer:
    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        """``tls``: a server-side context to serve HTTPS with (certificate loaded)."""
        self.routes: dict[str, Route] = {}
        self.requests: list[RecordedRequest] = []
        self.aborted_at: float | None = None  # set by abort_once_requested
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        self.scheme = "http"
        if tls is not None:
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
            self.scheme = "https"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL_S}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"{self.scheme}://{host!s}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def add(self, path: str, route: Route | None = None, **kwargs: object) -> str:
        """Register a route (a Route or Route's fields as keywords); returns its full URL."""
        self.routes[path] = route or Route(**kwargs)  # type: ignore[arg-type]
        return self.url(path)

    def hits(self, path: str) -> int:
        with self._lock:
            return sum(1 for r in self.requests if r.path.split("?")[0] == path)

    def abort_once_requested(self, path: str, abort: threading.Event) -> threading.Thread:
        """A started thread that sets ``abort`` as soon as ``path`` has been requested (the
        request is then in flight, as when a poll stops mid-fetch); `aborted_at` says when.
        Join it after the fetch."""
        self.aborted_at = None

        def wait_then_abort() -> None:
            deadline = time.monotonic() + 10
            while self.hits(path) == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            self.aborted_at = time.monotonic()
            abort.set()

        stopper = threading.Thread(target=wait_then_abort)
        stopper.start()
        return stopper

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def start(self) -> FeedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def _make_handler(server: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass  # keep test output quiet

        def do_GET(self) -> None:  # noqa: N802
            headers = {k.lower(): v for k, v in self.headers.items()}
            server.record(RecordedRequest(self.path, headers, int(self.client_address[1])))
            route = server.routes.get(self.path.split("?")[0])
            if route is not None and server.hits(self.path.split("?")[0]) <= route.drop_first:
                self.close_connection = True  # the request read, no answer: a dropped connection
                return
            try:
                self._respond(route, headers)
            except (TimeoutError, BrokenPipeError, ConnectionResetError):
                pass  # the client gave up: expected in timeout/cap tests
            self.close_connection = route is None or not route.keep_alive

        def _respond(self, route: Route | None, headers: dict[str, str]) -> None:
            if route is None:
                route = Route(status=404, body=b"not found", content_type="text/plain")
            if route.delay_s and server.stopping.wait(route.delay_s):
                return
            status, body = route.status, route.body
            extra = dict(route.headers)
            if route.etag:
                extra["ETag"] = route.etag
            if route.last_modified:
                extra["Last-Modified"] = route.last_modified
            if (route.etag and headers.get("if-none-match") == route.etag) or (
                route.last_modified and headers.get("if-modified-since") == route.last_modified
            ):
                status, body = 304, b""
            if route.redirect_to:
                extra["Location"] = route.redirect_to
            if route.gzip and status != 304:
                body = gzip.compress(body)
                extra["Content-Encoding"] = "gzip"
            if route.content_type and status != 304:
                extra["Content-Type"] = route.content_type
            if route.chunked and status != 304:
                extra["Transfer-Encoding"] = "chunked"
                size = route.chunked
                body = (
                    b"".join(
                        b"%x\r\n%s\r\n" % (len(body[i : i + size]), body[i : i + size])
                        for i in range(0, len(body), size)
                    )
                    + b"0\r\n\r\n"
                )
            elif route.content_length:
                extra["Content-Length"] = str(len(body))
            if not route.keep_alive:
                extra["Connection"] = "close"
            reason = route.reason if route.reason is not None else REASONS.get(status, "Status")
            head = f"HTTP/1.1 {status} {reason}\r\n"
            head += "".join(f"{k}: {v}\r\n" for k, v in extra.items()) + "\r\n"
            self._send(head.encode("latin-1"), route.header_trickle_s, 1)
            if status != 304:
                self._send(body, route.trickle_s, route.trickle_bytes)

        def _send(self, data: bytes, interval: float, step: int) -> None:
            if not interval:
                self.wfile.write(data)
                self.wfile.flush()
                return
            for start in range(0, len(data), max(1, step)):
                self.wfile.write(data[start : start + step])
                self.wfile.flush()
                if server.stopping.wait(interval):
                    return

    return Handler


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer().start()
    try:
        yield server
    finally:
        server.stop()
