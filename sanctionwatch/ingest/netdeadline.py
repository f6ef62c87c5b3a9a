"""Sockets for fetch(): every read and write honours the fetch's deadline and abort event.

A per-operation timeout never stops a server that trickles one byte per read. The sockets
made here (`DeadlineSocket`, and `DeadlineSSLSocket` for TLS through `deadline_ssl_context`)
give every read and write at most the time left before the deadline of the fetch running
in this context (`FETCH_DEADLINE`), and, while that fetch has an abort event
(`FETCH_ABORT`), wait in slices of `ABORT_CHECK_S` so that a poll being stopped is noticed
within about a second.

Running out of time raises `DeadlineReached` and a set abort event `FetchAborted`. Neither
is an `OSError`, so http.client and urllib3 pass them through unchanged (closing the
connection on their way out) instead of wrapping them as network errors; fetch() turns them
into its "timed out after 30s (total)" and "fetch aborted" lines. Outside a fetch (no
deadline, no abort event) the sockets behave as plain ones.
"""

from __future__ import annotations

import contextvars
import socket
import ssl
import threading
import time
import typing
from collections.abc import Callable

if typing.TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer

__all__ = [
    "ABORTED_MESSAGE",
    "ABORT_CHECK_S",
    "FETCH_ABORT",
    "FETCH_DEADLINE",
    "DeadlineReached",
    "DeadlineSSLSocket",
    "DeadlineSocket",
    "FetchAborted",
    "bounded",
    "check_abort",
    "deadline_socket",
    "deadline_ssl_context",
]

# Deadline (time.monotonic() value) of the fetch running in this thread/context.
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

_T = typing.TypeVar("_T")


class DeadlineReached(Exception):
    """The fetch's total deadline passed during a socket operation (not an OSError)."""


class FetchAborted(Exception):
    """The fetch's abort event was set (the poll is stopping); not an OSError."""


def check_abort() -> None:
    abort = FETCH_ABORT.get()
    if abort is not None and abort.is_set():
        raise FetchAborted(ABORTED_MESSAGE)


def bounded(timeout: float | None) -> float | None:
    """``timeout`` shortened to the time left before this context's deadline."""
    deadline = FETCH_DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise DeadlineReached("total deadline reached")
    return left if timeout is None else min(timeout, left)


def _within(sock: socket.socket, call: Callable[[], _T]) -> _T:
    """Run one blocking socket operation within the running fetch's deadline and abort."""
    deadline = FETCH_DEADLINE.get()
    abort = FETCH_ABORT.get()
    if deadline is None and abort is None:
        return call()
    asked = sock.gettimeout()  # what the HTTP client set for this operation
    now = time.monotonic()
    ends = [t for t in (deadline, None if asked is None else now + asked) if t is not None]
    end = min(ends) if ends else None
    by_deadline = deadline is not None and end == deadline  # else the client's own timeout
    try:
        while True:
            if abort is not None and abort.is_set():
                raise FetchAborted(ABORTED_MESSAGE)
            left = None if end is None else end - time.monotonic()
            if left is not None and left <= 0:
                raise DeadlineReached("total deadline reached") if by_deadline else TimeoutError()
            sliced = abort is not None and (left is None or left > ABORT_CHECK_S)
            wait = ABORT_CHECK_S if sliced else left
            sock.settimeout(None if wait is None else max(wait, _MIN_WAIT_S))
            try:
                return call()
            except TimeoutError:
                if not sliced and by_deadline:
                    raise DeadlineReached("total deadline reached") from None
                if not sliced:
                    raise
                # a slice running out only means: look at the abort event again
    finally:
        sock.settimeout(asked)


class DeadlineSocket(socket.socket):
    """A TCP socket whose reads and writes honour the running fetch's deadline and abort."""

    def recv_into(self, buffer: WriteableBuffer, nbytes: int = 0, flags: int = 0) -> int:
        return _within(self, lambda: super(DeadlineSocket, self).recv_into(buffer, nbytes, flags))

    def sendall(self, data: ReadableBuffer, flags: int = 0) -> None:
        _within(self, lambda: super(DeadlineSocket, self).sendall(data, flags))


class DeadlineSSLSocket(ssl.SSLSocket):
    """The TLS counterpart of `DeadlineSocket` (made by `deadline_ssl_context()` contexts)."""

    def recv_into(self, buffer: WriteableBuffer, nbytes: int | None = None, flags: int = 0) -> int:
        return _within(
            self, lambda: super(DeadlineSSLSocket, self).recv_into(buffer, nbytes, flags)
        )

    def sendall(self, data: ReadableBuffer, flags: int = 0) -> None:
        _within(self, lambda: super(DeadlineSSLSocket, self).sendall(data, flags))


def deadline_socket(plain: socket.socket) -> DeadlineSocket:
    """``plain`` (a connected socket) taken over as a `DeadlineSocket` (same descriptor)."""
    timeout = plain.gettimeout()
    sock = DeadlineSocket(plain.family, plain.type, plain.proto, fileno=plain.detach())
    sock.settimeout(timeout)
    return sock


def deadline_ssl_context(cafile: str | None) -> ssl.SSLContext:
    """A verifying TLS client context whose sockets are `DeadlineSSLSocket`s."""
    context = ssl.create_default_context(cafile=cafile)
    context.sslsocket_class = DeadlineSSLSocket
    return context
