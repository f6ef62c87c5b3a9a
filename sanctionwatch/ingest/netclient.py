"""The HTTP client of fetch(): urllib3 connection pools whose connects are guarded.

`FetchClient` is a urllib3 `PoolManager` (one pool per host, keep-alive, thread-safe) whose
connections open their sockets here instead of in urllib3:

* the host is resolved once, every address is checked against the policy of the running
  fetch (`netguard.resolve_checked`), and the socket is opened to one of those checked IP
  literals, so nothing resolves the name again between the check and the connect (no DNS
  rebinding); the peer address of the established socket is checked once more;
* TLS still verifies the certificate against the URL's host name;
* the sockets are `netdeadline` sockets, so every read and write honours the fetch's total
  deadline and abort event, TLS included (`deadline_ssl_context`).

Why urllib3 and not httpx: the steady poll fetches 2,000 feeds a minute in one process, and
through httpx and httpcore each fetch cost 1.2-1.5 ms of CPU, against 0.53-0.58 ms here (on
the polling bench's server, one thread), which kept the poller's core busy for most of the
cycle.
"""

from __future__ import annotations

import socket
import ssl
import typing
from functools import cache

import certifi
import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from sanctionwatch.ingest.netdeadline import (
    bounded,
    check_abort,
    deadline_socket,
    deadline_ssl_context,
)
from sanctionwatch.ingest.netguard import (
    FETCH_POLICY,
    STRICT_POLICY,
    AddressRefused,
    check_peer,
    resolve_checked,
)

__all__ = ["IDLE_PER_HOST", "MAX_HOST_POOLS", "FetchClient"]

# Hosts whose pools (and idle keep-alive connections) one client keeps, least recently used
# dropped first. A poll reuses a connection for the next feed of the same host, so this
# should cover the hosts of one poll; a client lives for one poll (closed at its end).
MAX_HOST_POOLS = 256
# Idle connections kept per host, by default: the poll fetches at most [poll] per_host (2 by
# default) feeds of one host at a time and makes its client with that many, so no
# connection is dropped as "pool full" and none more is held open. Idle sockets stay below
# MAX_HOST_POOLS × per_host, and below the connections the fetch threads ever had open.
IDLE_PER_HOST = 2


class _GuardedConnect:
    """``_new_conn`` for urllib3 connections: resolve, check, connect to the checked IP."""

    host: str
    port: int
    timeout: float | None
    source_address: tuple[str, int] | None
    socket_options: typing.Any

    def _new_conn(self) -> socket.socket:
        check_abort()
        policy = FETCH_POLICY.get() or STRICT_POLICY
        try:
            addresses = resolve_checked(self.host, self.port, policy)
        except socket.gaierror as exc:  # reported as a DNS failure by fetch()
            raise NameResolutionError(self.host, typing.cast(HTTPConnection, self), exc) from exc
        failure: Exception | None = None
        for address in addresses:  # connect to the checked literal, never to the name
            timeout = bounded(self.timeout)
            try:
                plain = socket.create_connection(
                    (address, self.port), timeout, source_address=self.source_address
                )
            except TimeoutError as exc:
                failure = ConnectTimeoutError(
                    self, f"Connection to {self.host} timed out. (connect timeout={timeout})"
                )
                failure.__cause__ = exc
                continue
            except OSError as exc:
                failure = NewConnectionError(
                    typing.cast(HTTPConnection, self),
                    f"Failed to establish a new connection: {exc}",
                )
                failure.__cause__ = exc
                continue
            sock = deadline_socket(plain)
            try:
                for option in self.socket_options or ():
                    sock.setsockopt(*option)
                check_peer(self.host, sock.getpeername(), policy)
            except (AddressRefused, OSError):
                sock.close()
                raise
            return sock
        assert failure is not None  # getaddrinfo never returns an empty list
        raise failure


class _GuardedHTTPConnection(_GuardedConnect, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_GuardedConnect, HTTPSConnection):
    pass


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


@cache
def _ssl_context(cafile: str) -> ssl.SSLContext:
    """One verifying context per CA bundle, shared by every client that uses it."""
    return deadline_ssl_context(cafile)


class FetchClient(urllib3.PoolManager):
    """Pooled, guarded HTTP for fetch(); use one per poll (or per settings), close it after.

    Redirects are not followed and nothing is retried here: fetch() does both itself.
    """

    def __init__(
        self, user_agent: str, cafile: str | None = None, per_host: int = IDLE_PER_HOST
    ) -> None:
        """``cafile``: the certificates TLS servers must chain to (default: certifi's);
        ``per_host``: the most requests to one host at a time (connections kept per host)."""
        super().__init__(
            num_pools=MAX_HOST_POOLS,
            headers={"User-Agent": user_agent},
            maxsize=max(1, per_host),
            block=False,
            retries=False,
            ssl_context=_ssl_context(cafile or certifi.where()),
        )
        self.pool_classes_by_scheme = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}

    def close(self) -> None:
        """Close every pooled connection."""
        self.clear()
