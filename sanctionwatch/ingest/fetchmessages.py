"""The one-line texts a failed fetch records, and the internal exception that carries them.

Every failure of `fetch()` ends as one short line in the database, in `feeds` output and in
Slack ops notices, so the wording lives in one place: what timed out and after how long,
which host failed DNS or TLS, how big the cap was. Kept apart from the HTTP flow in `fetch`
so that both it and the bounded body reader in `fetchbody` raise the same `FetchFailed`.
"""

from __future__ import annotations

import socket
import ssl
import time
from urllib.parse import urlsplit

from urllib3.exceptions import (
    ConnectTimeoutError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
)
from urllib3.exceptions import SSLError as Urllib3SSLError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from sanctionwatch.config.settings import FetchSettings
from sanctionwatch.ingest.netdeadline import ABORTED_MESSAGE, DeadlineReached, FetchAborted

MIB = 1024 * 1024


class FetchFailed(Exception):
    """Internal: ends a fetch with this message (and maybe a status)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def failure_message(exc: BaseException, url: str, settings: FetchSettings, deadline: float) -> str:
    """The line for a fetch of ``url`` that failed with ``exc`` (urllib3's exceptions, the
    socket layer's, `netdeadline`'s deadline and abort)."""
    host = urlsplit(url).hostname or url
    if isinstance(exc, FetchAborted):
        return ABORTED_MESSAGE
    # urllib3's NewConnectionError (refused, unreachable) derives from its timeout classes
    timed_out = isinstance(exc, (DeadlineReached, TimeoutError, Urllib3Timeout)) and not (
        isinstance(exc, NewConnectionError)
    )
    if isinstance(exc, DeadlineReached) or (timed_out and time.monotonic() >= deadline - 0.05):
        return f"timed out after {secs(settings.total_timeout_s)}s (total)"
    chain = _causes(exc)
    if isinstance(exc, NameResolutionError) or any(isinstance(c, socket.gaierror) for c in chain):
        return f"DNS lookup failed for host {host}"
    if isinstance(exc, ConnectTimeoutError) and timed_out:
        return f"connect timed out after {secs(settings.connect_timeout_s)}s"
    if timed_out:
        return f"timed out ({type(exc).__name__})"
    if any(isinstance(c, (ssl.SSLError, Urllib3SSLError)) for c in chain):
        return f"TLS error with {host}: {exc_line(exc)}"
    if any(isinstance(c, ConnectionRefusedError) for c in chain):
        return f"connection refused by {urlsplit(url).netloc}"
    if isinstance(exc, ProtocolError):
        inner = next((a for a in exc.args if isinstance(a, BaseException)), None)
        if isinstance(inner, ConnectionError):  # reset, or closed before any answer
            return f"network error with {host}: {exc_line(inner)}"
        return f"server broke the HTTP protocol: {exc_line(inner or exc)}"
    if isinstance(exc, ValueError):  # e.g. a malformed Location header
        return f"HTTP error: {exc_line(exc)}"
    return f"network error with {host}: {exc_line(exc)}"


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 10:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def exc_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]


def secs(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def human_size(n: int) -> str:
    if n >= MIB and n % MIB == 0:
        return f"{n // MIB} MB"
    if n >= MIB:
        return f"{n / MIB:.1f} MB"
    return f"{n} bytes" if n < 1024 or n % 1024 else f"{n // 1024} KB"


__all__ = [
    "FetchFailed",
    "exc_line",
    "human_size",
    "failure_message",
    "secs",
]
