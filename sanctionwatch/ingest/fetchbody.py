"""Reading a response body with a bounded size, decoding gzip/deflate ourselves.

A compression bomb must never allocate more than `[fetch] max_bytes`: a client's own decoder
would expand one small raw chunk to about a thousand times its size before we could count
it, so the body is read raw (urllib3, ``decode_content=False``) and decoded here with a
bounded output per step, while the total deadline and the poll's abort event are checked
between chunks. `finish()` hands a connection back to the pool only when its answer was
read to the end, so nothing left unread is taken for the next answer.
"""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Iterator

import urllib3

from sanctionwatch.config.settings import FetchSettings
from sanctionwatch.ingest.fetchmessages import FetchFailed, human_size, secs
from sanctionwatch.ingest.netdeadline import ABORTED_MESSAGE, FETCH_ABORT

log = logging.getLogger(__name__)

# Raw bytes asked of the socket per step.
CHUNK_BYTES = 64 * 1024
# A body we do not want (a redirect's, an error's) is read and dropped to keep the
# connection when its Content-Length says it is at most this long; else the connection is
# closed. Redirect and error pages are a few hundred bytes to a few KB.
DRAIN_BYTES = 16 * 1024


def read_body(
    response: urllib3.BaseHTTPResponse, settings: FetchSettings, deadline: float
) -> bytes:
    declared = response.headers.get("content-length", "")
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity") and declared.isdigit() and int(declared) > settings.max_bytes:
        raise FetchFailed(f"body exceeds {human_size(settings.max_bytes)} cap", response.status)
    parts: list[bytes] = []
    total = 0
    for chunk in decoded_chunks(response, encoding, settings.max_bytes + 1):
        total += len(chunk)
        if total > settings.max_bytes:
            raise FetchFailed(f"body exceeds {human_size(settings.max_bytes)} cap", response.status)
        if time.monotonic() > deadline:
            raise FetchFailed(f"timed out after {secs(settings.total_timeout_s)}s (total)")
        abort = FETCH_ABORT.get()
        if abort is not None and abort.is_set():
            raise FetchFailed(ABORTED_MESSAGE)
        parts.append(chunk)
    return b"".join(parts)


def finish(response: urllib3.BaseHTTPResponse) -> None:
    """Return the connection to its pool: reusable when the answer was read to its end (a
    body read in full, a 304, a short redirect or error body read and dropped here), closed
    when anything may be left unread (a long or unsized body, a body refused half-way)."""
    left = response.length_remaining
    if not response.closed and left is not None and left <= DRAIN_BYTES:
        try:
            response.drain_conn()
        except Exception:  # the deadline or the abort event: the connection is closed below
            log.debug("answer not drained url=%s", response.url, exc_info=True)
    if not response.closed:
        response.close()
    response.release_conn()


def _raw(response: urllib3.BaseHTTPResponse) -> Iterator[bytes]:
    return response.stream(CHUNK_BYTES, decode_content=False)


def decoded_chunks(
    response: urllib3.BaseHTTPResponse, encoding: str, limit: int
) -> Iterator[bytes]:
    """The body decoded per Content-Encoding, never producing more than `limit` bytes.

    We decode ourselves (instead of the client's decoder) so that one small raw chunk of a
    compression bomb cannot expand to ~1000x its size in memory before we count it.
    """
    if encoding in ("", "identity"):
        yield from _raw(response)
        return
    if encoding in ("gzip", "x-gzip"):
        decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif encoding == "deflate":
        decoder = zlib.decompressobj()
    else:
        raise FetchFailed(f"unsupported Content-Encoding '{encoding[:40]}'", response.status)
    produced = 0
    first = True
    for raw in _raw(response):
        if first and encoding == "deflate" and raw:
            first = False
            try:  # some servers send raw deflate without the zlib header
                zlib.decompressobj().decompress(raw[:2])
            except zlib.error:
                decoder = zlib.decompressobj(-zlib.MAX_WBITS)
        pending = raw
        while pending:
            try:
                out = decoder.decompress(pending, max(1, limit - produced))
            except zlib.error as exc:
                raise FetchFailed(f"corrupt {encoding} body: {exc}", response.status) from None
            pending = decoder.unconsumed_tail
            produced += len(out)
            if out:
                yield out
            if produced >= limit:
                return
            if decoder.eof:
                break


__all__ = ["CHUNK_BYTES", "DRAIN_BYTES", "decoded_chunks", "finish", "read_body"]
