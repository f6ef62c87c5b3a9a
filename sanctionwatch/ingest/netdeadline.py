"""Network plumbing for fetch(): sockets that honour a per-fetch deadline and abort event.

httpx applies its timeouts per socket operation; a server trickling one byte per read
never trips them. Clients built on ``DeadlineTransport`` give every connect, read and write
at most the time left before the deadline of the fetch running in this context, and, while
an abort event is set for that fetch, read in slices of ``ABORT_CHECK_S`` so that a poll
being stopped is noticed within about a second.

Its connects also go through the address guard (`netguard`): the host is resolved here,
every address is checked against the policy of the running fetch, and the socket is opened
to a checked IP literal (pinned: no second lookup), then its peer is checked again.
"""

from __future__ import annotations

import contextvars
import ssl
import threading
import time
import typing

import httpcore
import httpx

from sanctionwatch.ingest.netguard import (
    FETCH_POLICY,
    STRICT_POLICY,
    AddressRefused,
    check_peer,
    resolve_checked,
)

__all__ = ["ABORT_CHECK_S", "ABORTED_MESSAGE", "FETCH_ABORT", "FETCH_DEADLINE", "DeadlineTransport"]

# Deadline (time.monotonic() value) of the fetch running in this thread/context, read by
# the network backend of clients made by make_client().
FETCH_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "sanctionwatch_fetch_deadline", default=None
)
# Abort event of the fetch running in this thread/context (None: the fetch cannot be aborted).
FETCH_ABORT: contextvars.ContextVar[threading.Event | None] = contextvars.ContextVar(
    "sanctionwatch_fetch_abort", default=None
)
# Longest single socket wait while an abort event is watched: how late a stop is noticed.
ABORT_CHECK_S = 1.0
ABORTED_MESSAGE = "fetch aborted: the poll is stopping"
_MIN_WAIT_S = 0.001  # a zero socket timeout would mean non-blocking, not "time is up"
# httpcore's default pool allows 10 connections at once: more fetch threads than that
# (poll.max_workers, 16 by default) queued behind it. Concurrency is bounded by the fetch
# threads, so the pool is not the limit.
MAX_CONNECTIONS = 256
# Idle connections kept for feeds on the same host later in the poll (no new TCP or TLS
# handshake); closed after KEEPALIVE_S so none linger between polls (a minute apart). Few:
# httpcore walks every pooled connection on each request, so 64 idle ones cost 3× the CPU
# per fetch of 8 (bench/polling.py's server, 600 feeds on 60 hosts, 16 threads).
MAX_KEEPALIVE = 8
KEEPALIVE_S = 20.0


def _bounded(timeout: float | None) -> float | None:
    """`timeout` shortened to the time left before this context's deadline."""
    deadline = FETCH_DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout("total deadline reached")
    return left if timeout is None else min(timeout, left)


def _check_abort() -> None:
    abort = FETCH_ABORT.get()
    if abort is not None and abort.is_set():
        raise httpcore.ReadError(ABORTED_MESSAGE)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        limit = _bounded(timeout)
        if FETCH_ABORT.get() is None:
            return self._inner.read(max_bytes, limit)
        # Wait in short slices so a stop is noticed; a slice running out is not a timeout
        # unless the whole allowance (read timeout or total deadline) ran out with it.
        end = None if limit is None else time.monotonic() + limit
        while True:
            _check_abort()
            left = None if end is None else end - time.monotonic()
            if left is not None and left <= ABORT_CHECK_S:
                return self._inner.read(max_bytes, max(left, _MIN_WAIT_S))
            try:
                return self._inner.read(max_bytes, ABORT_CHECK_S)
            except httpcore.ReadTimeout:
                continue

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bounded(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(ssl_context, server_hostname, _bounded(timeout))
        return _DeadlineStream(inner)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        _check_abort()
        policy = FETCH_POLICY.get() or STRICT_POLICY
        try:
            addresses = resolve_checked(host, port, policy)
        except OSError as exc:  # socket.gaierror: reported as a DNS failure by fetch()
            raise httpcore.ConnectError(f"DNS lookup failed: {exc}") from exc
        failure: Exception | None = None
        options = list(socket_options) if socket_options is not None else None
        for address in addresses:  # connect to the checked literal, never to the name
            try:
                stream = self._inner.connect_tcp(
                    address, port, _bounded(timeout), local_address, options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
                continue
            try:
                sock = stream.get_extra_info("socket")
                check_peer(host, sock.getpeername() if sock is not None else None, policy)
            except AddressRefused:
                stream.close()
                raise
            return _DeadlineStream(stream)
        assert failure is not None  # getaddrinfo never returns an empty list
        raise failure

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class DeadlineTransport(httpx.HTTPTransport):
    """httpx's transport with a connection pool whose sockets honour the fetch deadline."""

    def __init__(self) -> None:
        super().__init__()
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            network_backend=_DeadlineBackend(),
            max_connections=MAX_CONNECTIONS,
            max_keepalive_connections=MAX_KEEPALIVE,
            keepalive_expiry=KEEPALIVE_S,
        )
