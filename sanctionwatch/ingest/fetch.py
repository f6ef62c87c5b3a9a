"""Fetching feed documents safely: timeouts, a wall-clock deadline, size caps, conditional GET.

`fetch()` never raises for network or HTTP problems; every failure becomes a `FetchResult`
with a one-line `error`. Guarantees, all enforced while streaming:

* a total wall-clock deadline (`total_timeout_s`) that also covers servers trickling their
  headers or body one byte at a time: with a client from `make_client()` every socket read
  and write is given at most the time left before the deadline;
* a cap on *decompressed* body bytes (`max_bytes`); gzip/deflate are decoded here with a
  bounded output size per step, so a compression bomb never allocates more than the cap;
* redirects followed by hand (http/https only, never to file:), loops and long chains end
  with a clear error;
* only safe addresses are contacted, on the first request and on every redirect hop: no
  link-local/metadata, multicast, unspecified or reserved address ever, private ranges only
  with ``allow_private`` (see `netguard`; with a `make_client()` client the check is made on
  the resolved address the socket is opened to);
* an optional `abort` event (set when the poll is stopping, e.g. on SIGTERM): socket reads
  wait in slices of at most `ABORT_CHECK_S` and give up once it is set, so an abandoned
  fetch of a hanging server ends within about a second instead of at its total timeout.

The HTTP flow (conditional GET, redirect hops, status handling) lives here; the bounded body
reader is `fetchbody`, the failure texts `fetchmessages`, Retry-After parsing `retryafter`.
"""

from __future__ import annotations

import email.utils
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import httpx

from sanctionwatch.config.settings import DEFAULT_USER_AGENT, FetchSettings
from sanctionwatch.ingest.fetchbody import read_body
from sanctionwatch.ingest.fetchmessages import (
    FetchFailed,
    exc_line,
    human_size,
    secs,
    timeout_message,
    transport_message,
)
from sanctionwatch.ingest.netdeadline import FETCH_ABORT, FETCH_DEADLINE, DeadlineTransport
from sanctionwatch.ingest.netguard import FETCH_POLICY, AddressPolicy, AddressRefused, check_url
from sanctionwatch.ingest.retryafter import parse_retry_after
from sanctionwatch.logfields import one_line

log = logging.getLogger(__name__)

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
RETRY_AFTER_STATUSES = frozenset({429, 503})
# Accept only what we can decode with a bounded output size (see fetchbody.decoded_chunks).
ACCEPT_ENCODING = "gzip, deflate"
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)


DEFAULT_SETTINGS = FetchSettings()
# Clients whose sockets check addresses where they connect (made by make_client). For any
# other client fetch() checks the host's addresses itself before each request, which
# leaves a DNS-rebinding window between its lookup and the client's own.
_GUARDED_CLIENTS: weakref.WeakSet[httpx.Client] = weakref.WeakSet()


@dataclass(frozen=True)
class FetchState:
    """What we remember between polls of one feed."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class FetchResult:
    url: str  # the URL finally fetched (after redirects); the path for local files
    status: (
        int | None
    )  # HTTP status; None for transport failures; local files: 200 (304 if unchanged)
    body: bytes | None  # None on 304 or failure
    content_type: str | None
    etag: str | None
    last_modified: str | None
    not_modified: bool  # True on 304 (caller must skip parsing/matching)
    error: str | None  # one line, e.g. "timed out after 30s (total)"
    retry_after_s: float | None  # from Retry-After on 429/503
    gone: bool  # 410 Gone: caller stops polling this feed
    elapsed_s: float


def make_client(settings: FetchSettings | None = None) -> httpx.Client:
    """An httpx client whose every socket read/write honours fetch()'s total deadline.

    Reuse one client across polls for connection pooling; close it when done. A client made
    elsewhere also works, but then only body streaming checks the total deadline (a server
    trickling its headers is stopped by the read timeout alone).
    """
    settings = settings or DEFAULT_SETTINGS
    client = httpx.Client(
        transport=DeadlineTransport(),
        timeout=_timeouts(settings),
        follow_redirects=False,
        headers={"User-Agent": settings.user_agent},
    )
    _GUARDED_CLIENTS.add(client)
    return client


def _timeouts(settings: FetchSettings) -> httpx.Timeout:
    return httpx.Timeout(
        settings.total_timeout_s,
        connect=min(settings.connect_timeout_s, settings.total_timeout_s),
    )


# --------------------------------------------------------------------------- public entry


def fetch(
    url: str,
    state: FetchState,
    settings: FetchSettings,
    client: httpx.Client | None = None,
    abort: threading.Event | None = None,
) -> FetchResult:
    """Fetch one feed document. Never raises for network, HTTP or file problems.

    Setting ``abort`` (from any thread) makes a running HTTP fetch give up within about
    `ABORT_CHECK_S` with the error `ABORTED_MESSAGE` (sockets of a `make_client()` client).
    """
    started = time.monotonic()
    scheme = urlsplit(url).scheme.lower()
    if scheme in ("http", "https"):
        token = FETCH_ABORT.set(abort)
        policy_token = FETCH_POLICY.set(AddressPolicy(allow_private=settings.allow_private))
        try:
            result = _fetch_http(url, state, settings, client, started)
        finally:
            FETCH_POLICY.reset(policy_token)
            FETCH_ABORT.reset(token)
    elif scheme == "file" or scheme == "" or (len(scheme) == 1 and os.name == "nt"):
        result = _fetch_file(url, state, settings, started)
    else:
        result = _failure(
            url, f"unsupported URL scheme '{scheme}:' (use http(s) or a file path)", started
        )
    if result.error:
        # Reason phrases and Location headers are the server's text: no control characters
        # (a NEL or escape sequence) reach the database, `feeds` output or Slack notices.
        result = replace(result, error=one_line(result.error))
        log.warning("fetch failed url=%s status=%s error=%r", url, result.status, result.error)
    else:
        log.debug(
            "fetched url=%s status=%s bytes=%s not_modified=%s elapsed_s=%.2f",
            url,
            result.status,
            len(result.body) if result.body is not None else 0,
            result.not_modified,
            result.elapsed_s,
        )
    return result


def _failure(url: str, message: str, started: float, status: int | None = None) -> FetchResult:
    return FetchResult(
        url=url,
        status=status,
        body=None,
        content_type=None,
        etag=None,
        last_modified=None,
        not_modified=False,
        error=message,
        retry_after_s=None,
        gone=False,
        elapsed_s=time.monotonic() - started,
    )


# --------------------------------------------------------------------------- local files


def _fetch_file(
    url: str, state: FetchState, settings: FetchSettings, started: float
) -> FetchResult:
    path = Path(unquote(urlsplit(url).path)) if url.lower().startswith("file:") else Path(url)
    try:
        stat = path.stat()
        last_modified = email.utils.formatdate(stat.st_mtime, usegmt=True)
        # Last-Modified has one-second resolution: a file rewritten within the second it was
        # read looked unchanged and its new items were missed. The version tag uses the
        # nanosecond mtime and the size.
        etag = f'"file-{stat.st_mtime_ns}-{stat.st_size}"'
        # a state saved before the tag existed has only Last-Modified: compare that once
        if state.etag == etag or (state.etag is None and state.last_modified == last_modified):
            return FetchResult(
                url, 304, None, None, etag, last_modified, True, None, None, False,
                time.monotonic() - started,
            )  # fmt: skip
        with path.open("rb") as fh:
            body = fh.read(settings.max_bytes + 1)
    except FileNotFoundError:
        return _failure(url, f"file not found: {path}", started)
    except IsADirectoryError:
        return _failure(url, f"not a file (a directory): {path}", started)
    except OSError as exc:
        return _failure(url, f"cannot read file {path}: {exc.strerror or exc}", started)
    if len(body) > settings.max_bytes:
        return _failure(url, f"body exceeds {human_size(settings.max_bytes)} cap", started)
    return FetchResult(
        url, 200, body, None, etag, last_modified, False, None, None, False,
        time.monotonic() - started,
    )  # fmt: skip


# --------------------------------------------------------------------------- HTTP


def _fetch_http(
    url: str,
    state: FetchState,
    settings: FetchSettings,
    client: httpx.Client | None,
    started: float,
) -> FetchResult:
    deadline = started + settings.total_timeout_s
    token = FETCH_DEADLINE.set(deadline)
    own_client = client is None
    http = make_client(settings) if client is None else client
    current = url
    try:
        seen = {url}
        for _hop in range(settings.max_redirects + 1):
            if http not in _GUARDED_CLIENTS:
                check_url(current, AddressPolicy(allow_private=settings.allow_private))
            outcome = _request_retried(
                partial(_one_request, http, current, state, settings, deadline, started),
                current,
                deadline,
            )
            if isinstance(outcome, FetchResult):
                return outcome
            target = outcome
            if target in seen:
                return _failure(current, f"redirect loop ({current} -> {target})", started)
            seen.add(target)
            current = target
        return _failure(
            current, f"too many redirects (more than {settings.max_redirects})", started
        )
    except FetchFailed as exc:
        return _failure(current, exc.message, started, exc.status)
    except AddressRefused as exc:
        where = "feed URL host" if current == url else "redirect to"  # loops end earlier
        return _failure(current, exc.describe(where), started)
    except httpx.TimeoutException as exc:
        return _failure(current, timeout_message(exc, settings, deadline), started)
    except httpx.TransportError as exc:
        return _failure(current, transport_message(exc, current), started)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:  # e.g. a malformed Location header
        return _failure(current, f"HTTP error: {exc_line(exc)}", started)
    except Exception as exc:  # never let one feed's oddity escape into the poll loop
        log.exception("unexpected fetch failure url=%s", current)
        return _failure(
            current, f"unexpected error: {type(exc).__name__}: {exc_line(exc)}", started
        )
    finally:
        FETCH_DEADLINE.reset(token)
        if own_client:
            http.close()


# httpcore's words for a connection closed before any answer (the other protocol errors
# are about an answer received).
_NO_ANSWER = "without sending a response"


def _request_retried(
    request: Callable[[], FetchResult | str], url: str, deadline: float
) -> FetchResult | str:
    """``request()`` (one GET of ``url``), sent once more when the connection broke before
    the answer was read: a keep-alive connection the server closed as it was reused, or one
    that httpcore's pool closed under a request another thread had just been given
    (encode/httpcore#1110, seen as "[Errno 9] Bad file descriptor" in 1 of 2,000 fetches of a
    steady poll). A GET may be repeated; a timeout, a refused address or a stopping poll
    never is."""
    try:
        return request()
    except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError) as exc:
        abort = FETCH_ABORT.get()
        if (abort is not None and abort.is_set()) or deadline <= time.monotonic():
            raise
        if isinstance(exc, httpx.RemoteProtocolError) and _NO_ANSWER not in str(exc):
            raise  # an answer that breaks the protocol (a bad Location header) stays an error
        log.info("fetch retried once after a broken connection url=%s error=%r", url, exc_line(exc))
    return request()


def _one_request(
    http: httpx.Client,
    url: str,
    state: FetchState,
    settings: FetchSettings,
    deadline: float,
    started: float,
) -> FetchResult | str:
    """One GET. Returns the final result, or the absolute URL of a redirect target."""
    headers = {
        "User-Agent": settings.user_agent,
        "Accept": ACCEPT,
        "Accept-Encoding": ACCEPT_ENCODING,
    }
    if state.etag:
        headers["If-None-Match"] = state.etag
    if state.last_modified:
        headers["If-Modified-Since"] = state.last_modified
    left = deadline - time.monotonic()
    if left <= 0:
        raise FetchFailed(f"timed out after {secs(settings.total_timeout_s)}s (total)")
    timeout = httpx.Timeout(left, connect=min(settings.connect_timeout_s, left))
    request = http.build_request("GET", url, headers=headers, timeout=timeout)
    response = http.send(request, stream=True, follow_redirects=False)
    try:
        status = response.status_code
        if status in REDIRECT_STATUSES:
            return _redirect_target(response, url)
        etag = response.headers.get("etag")
        last_modified = response.headers.get("last-modified")
        content_type = response.headers.get("content-type")
        if status == 304:
            return FetchResult(
                url, 304, None, content_type, etag or state.etag,
                last_modified or state.last_modified, True, None, None, False,
                time.monotonic() - started,
            )  # fmt: skip
        if not 200 <= status < 300:
            retry_after = None
            if status in RETRY_AFTER_STATUSES:
                retry_after = parse_retry_after(response.headers.get("retry-after"))
            message = f"HTTP {status} {response.reason_phrase or ''}".rstrip()
            if retry_after is not None:
                message += f" (retry after {secs(retry_after)}s)"
            return FetchResult(
                url, status, None, content_type, None, None, False, message, retry_after,
                status == 410, time.monotonic() - started,
            )  # fmt: skip
        body = read_body(response, settings, deadline)
        return FetchResult(
            url, status, body, content_type, etag, last_modified, False, None, None, False,
            time.monotonic() - started,
        )  # fmt: skip
    finally:
        response.close()


def _redirect_target(response: httpx.Response, url: str) -> str:
    location = response.headers.get("location")
    if not location:
        raise FetchFailed(f"HTTP {response.status_code} redirect without a Location header")
    target = urljoin(url, location.strip())
    if urlsplit(target).scheme.lower() not in ("http", "https"):
        raise FetchFailed(f"redirect to a non-http(s) URL refused: {target[:200]}")
    return str(target)


__all__ = [
    "FetchResult",
    "FetchSettings",
    "FetchState",
    "fetch",
    "make_client",
    "DEFAULT_SETTINGS",
    "DEFAULT_USER_AGENT",
]
