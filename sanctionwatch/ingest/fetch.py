"""Fetching feed documents safely: timeouts, a wall-clock deadline, size caps, conditional GET.

`fetch()` never raises for network or HTTP problems; every failure becomes a `FetchResult`
with a one-line `error`. Guarantees, all enforced while streaming:

* a total wall-clock deadline (`total_timeout_s`) that also covers servers trickling their
  headers or body one byte at a time: every socket read and write is given at most the time
  left before the deadline (`netdeadline`);
* a cap on *decompressed* body bytes (`max_bytes`); gzip/deflate are decoded here with a
  bounded output size per step, so a compression bomb never allocates more than the cap;
* redirects followed by hand (http/https only, never to file:), loops and long chains end
  with a clear error;
* only safe addresses are contacted, on the first request and on every redirect hop: no
  link-local/metadata, multicast, unspecified or reserved address ever, private ranges only
  with ``allow_private`` (see `netguard`; the check is made on the resolved address the
  socket is opened to, by the connections of `netclient.FetchClient`);
* an optional `abort` event (set when the poll is stopping, e.g. on SIGTERM): socket reads
  wait in slices of at most `ABORT_CHECK_S` and give up once it is set, so an abandoned
  fetch of a hanging server ends within about a second instead of at its total timeout.

The HTTP flow (conditional GET, redirect hops, status handling) lives here; the client is
`netclient` (urllib3), the bounded body reader `fetchbody`, the failure texts
`fetchmessages`, Retry-After parsing `retryafter`.
"""

from __future__ import annotations

import email.utils
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import urllib3
from urllib3.exceptions import HTTPError, ProtocolError

from sanctionwatch.config.settings import DEFAULT_USER_AGENT, FetchSettings
from sanctionwatch.ingest.fetchbody import finish, read_body
from sanctionwatch.ingest.fetchmessages import (
    FetchFailed,
    exc_line,
    failure_message,
    human_size,
    secs,
)
from sanctionwatch.ingest.netclient import IDLE_PER_HOST, FetchClient
from sanctionwatch.ingest.netdeadline import (
    FETCH_ABORT,
    FETCH_DEADLINE,
    DeadlineReached,
    FetchAborted,
)
from sanctionwatch.ingest.netguard import FETCH_POLICY, AddressPolicy, AddressRefused
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


def make_client(
    settings: FetchSettings | None = None, per_host: int = IDLE_PER_HOST
) -> FetchClient:
    """A pooled client for fetch() (keep-alive per host, guarded connects, deadlines);
    ``per_host``: the most requests the caller makes to one host at a time.

    Reuse one client across the feeds of a poll; close it when done. Pooled connections
    were checked against the address policy when they were opened: use one client per
    settings.
    """
    return FetchClient((settings or DEFAULT_SETTINGS).user_agent, per_host=per_host)


# --------------------------------------------------------------------------- public entry


def fetch(
    url: str,
    state: FetchState,
    settings: FetchSettings,
    client: FetchClient | None = None,
    abort: threading.Event | None = None,
) -> FetchResult:
    """Fetch one feed document. Never raises for network, HTTP or file problems.

    Setting ``abort`` (from any thread) makes a running HTTP fetch give up within about
    `ABORT_CHECK_S` with the error `ABORTED_MESSAGE`.
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
    client: FetchClient | None,
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
    except (DeadlineReached, FetchAborted, HTTPError, OSError, ValueError) as exc:
        # urllib3's and the socket layer's failures, a malformed Location header among them
        return _failure(current, failure_message(exc, current, settings, deadline), started)
    except Exception as exc:  # never let one feed's oddity escape into the poll loop
        log.exception("unexpected fetch failure url=%s", current)
        return _failure(
            current, f"unexpected error: {type(exc).__name__}: {exc_line(exc)}", started
        )
    finally:
        FETCH_DEADLINE.reset(token)
        if own_client:
            http.close()


def _request_retried(
    request: Callable[[], FetchResult | str], url: str, deadline: float
) -> FetchResult | str:
    """``request()`` (one GET of ``url``), sent once more when the connection broke under it
    (reset, or closed before the answer): most often a keep-alive connection the server
    closed just as it was reused. A GET may be repeated; a timeout, a refused address, an
    answer that breaks the protocol or a stopping poll never is."""
    try:
        return request()
    except ProtocolError as exc:
        abort = FETCH_ABORT.get()
        if (abort is not None and abort.is_set()) or deadline <= time.monotonic():
            raise
        if not any(isinstance(arg, ConnectionError) for arg in exc.args):
            raise  # e.g. a bad status line or a body cut short: stays an error
        log.info("fetch retried once after a broken connection url=%s error=%r", url, exc_line(exc))
    return request()


def _one_request(
    http: FetchClient,
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
    timeout = urllib3.Timeout(connect=min(settings.connect_timeout_s, left), read=left)
    response = http.request(
        "GET", url, headers=headers, timeout=timeout, redirect=False, retries=False,
        preload_content=False, decode_content=False,
    )  # fmt: skip
    try:
        status = response.status
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
            message = f"HTTP {status} {response.reason or ''}".rstrip()
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
        finish(response)


def _redirect_target(response: urllib3.BaseHTTPResponse, url: str) -> str:
    location = response.headers.get("location")
    if not location:
        raise FetchFailed(f"HTTP {response.status} redirect without a Location header")
    target = urljoin(url, location.strip())
    if urlsplit(target).scheme.lower() not in ("http", "https"):
        raise FetchFailed(f"redirect to a non-http(s) URL refused: {target[:200]}")
    return str(target)


__all__ = [
    "FetchClient",
    "FetchResult",
    "FetchSettings",
    "FetchState",
    "fetch",
    "make_client",
    "DEFAULT_SETTINGS",
    "DEFAULT_USER_AGENT",
]
