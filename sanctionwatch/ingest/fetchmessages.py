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

import httpx

from sanctionwatch.config.settings import FetchSettings

MIB = 1024 * 1024


class FetchFailed(Exception):
    """Internal: ends a fetch with this message (and maybe a status)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def timeout_message(exc: httpx.TimeoutException, settings: FetchSettings, deadline: float) -> str:
    if time.monotonic() >= deadline - 0.05 or "total deadline" in str(exc):
        return f"timed out after {secs(settings.total_timeout_s)}s (total)"
    if isinstance(exc, httpx.ConnectTimeout):
        return f"connect timed out after {secs(settings.connect_timeout_s)}s"
    return f"timed out ({type(exc).__name__})"


def transport_message(exc: httpx.TransportError, url: str) -> str:
    host = urlsplit(url).hostname or url
    chain = _causes(exc)
    if any(isinstance(c, socket.gaierror) for c in chain) or _dns_text(str(exc)):
        return f"DNS lookup failed for host {host}"
    if any(isinstance(c, ssl.SSLError) for c in chain) or "SSL" in str(exc):
        return f"TLS error with {host}: {exc_line(exc)}"
    if any(isinstance(c, ConnectionRefusedError) for c in chain) or "refused" in str(exc).lower():
        return f"connection refused by {urlsplit(url).netloc}"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"server broke the HTTP protocol: {exc_line(exc)}"
    return f"network error with {host}: {exc_line(exc)}"


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 10:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _dns_text(text: str) -> bool:
    markers = ("Name or service not known", "nodename nor servname", "getaddrinfo failed",
               "Temporary failure in name resolution", "No address associated")  # fmt: skip
    return any(m in text for m in markers)


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
    "secs",
    "timeout_message",
    "transport_message",
]
