"""Reading a response body with a bounded size, decoding gzip/deflate ourselves.

A compression bomb must never allocate more than `[fetch] max_bytes`: httpx's own decoder
would expand one small raw chunk to about a thousand times its size before we could count
it, so the body is decoded here with a bounded output per step, while the total deadline
and the poll's abort event are checked between chunks.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterator

import httpx

from sanctionwatch.config.settings import FetchSettings
from sanctionwatch.ingest.fetchmessages import FetchFailed, human_size, secs
from sanctionwatch.ingest.netdeadline import ABORTED_MESSAGE, FETCH_ABORT


def read_body(response: httpx.Response, settings: FetchSettings, deadline: float) -> bytes:
    declared = response.headers.get("content-length", "")
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity") and declared.isdigit() and int(declared) > settings.max_bytes:
        raise FetchFailed(
            f"body exceeds {human_size(settings.max_bytes)} cap", response.status_code
        )
    parts: list[bytes] = []
    total = 0
    for chunk in decoded_chunks(response, encoding, settings.max_bytes + 1):
        total += len(chunk)
        if total > settings.max_bytes:
            raise FetchFailed(
                f"body exceeds {human_size(settings.max_bytes)} cap", response.status_code
            )
        if time.monotonic() > deadline:
            raise FetchFailed(f"timed out after {secs(settings.total_timeout_s)}s (total)")
        abort = FETCH_ABORT.get()
        if abort is not None and abort.is_set():
            raise FetchFailed(ABORTED_MESSAGE)
        parts.append(chunk)
    return b"".join(parts)


def decoded_chunks(response: httpx.Response, encoding: str, limit: int) -> Iterator[bytes]:
    """The body decoded per Content-Encoding, never producing more than `limit` bytes.

    We decode ourselves (instead of httpx's iter_bytes) so that one small raw chunk of a
    compression bomb cannot expand to ~1000x its size in memory before we count it.
    """
    if encoding in ("", "identity"):
        yield from response.iter_raw()
        return
    if encoding in ("gzip", "x-gzip"):
        decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif encoding == "deflate":
        decoder = zlib.decompressobj()
    else:
        raise FetchFailed(f"unsupported Content-Encoding '{encoding[:40]}'", response.status_code)
    produced = 0
    first = True
    for raw in response.iter_raw():
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
                raise FetchFailed(f"corrupt {encoding} body: {exc}", response.status_code) from None
            pending = decoder.unconsumed_tail
            produced += len(out)
            if out:
                yield out
            if produced >= limit:
                return
            if decoder.eof:
                break


__all__ = ["decoded_chunks", "read_body"]
