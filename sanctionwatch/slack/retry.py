"""slack-sdk retry handlers, tuned for sanctionwatch (see ``slack_post`` for the policy)."""

from __future__ import annotations

import logging
import random
import socket
import time
from urllib.error import HTTPError, URLError

from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.jitter import Jitter
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

log = logging.getLogger(__name__)

JITTER_FRACTION = 0.25  # backoff sleeps are stretched by up to 25% to spread retries
RETRY_AFTER_JITTER_S = 0.25  # added to an honoured Retry-After, never subtracted
RETRY_AFTER_FALLBACK_S = 1.0  # a 429 without a readable Retry-After
RETRYABLE_STATUS = frozenset({500, 502, 503, 504})


class ProportionalJitter(Jitter):
    def recalculate(self, duration: float) -> float:
        return duration * (1 + random.random() * JITTER_FRACTION)  # noqa: S311 - not crypto


def retry_after(response: HttpResponse | None) -> float:
    if response is not None:
        for name, values in response.headers.items():
            if name.lower() == "retry-after" and values:
                try:
                    return max(0.0, float(values[0]))
                except ValueError:
                    break
    return RETRY_AFTER_FALLBACK_S


class CappedRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """Honours ``Retry-After`` when it is at most ``max_wait_s``; gives up on longer waits."""

    def __init__(self, max_retry_count: int, max_wait_s: float) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait_s = max_wait_s

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return (
            response is not None
            and response.status_code == 429
            and retry_after(response) <= self.max_wait_s
        )

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        wait = retry_after(response) + random.random() * RETRY_AFTER_JITTER_S  # noqa: S311
        log.info("slack rate-limited url=%s sleep_s=%.2f", request.url, wait)
        state.next_attempt_requested = True
        time.sleep(wait)
        state.increment_current_attempt()


class GatewayErrorRetryHandler(ServerErrorRetryHandler):
    """slack-sdk's 5xx handler, extended from 500/503 to 502/504 (proxies in front of Slack)."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and response.status_code in RETRYABLE_STATUS


def not_sent(error: BaseException) -> bool:
    """True when the request cannot have reached Slack: refused, unreachable, no DNS."""
    if isinstance(error, URLError) and not isinstance(error, HTTPError):
        reason = error.reason
        return isinstance(reason, ConnectionRefusedError | socket.gaierror) or (
            isinstance(reason, OSError) and reason.errno in _UNREACHABLE_ERRNOS
        )
    return isinstance(error, ConnectionRefusedError | socket.gaierror)


_UNREACHABLE_ERRNOS = frozenset({101, 113})  # ENETUNREACH, EHOSTUNREACH (Linux)


class NotSentRetryHandler(ConnectionErrorRetryHandler):
    """Retries a connection error only when the request never left (see ``not_sent``):
    safe for chat.postMessage, unlike slack-sdk's handler, which also re-sends after a reset
    and so posts the message twice when only the answer was lost."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is None and error is not None and not_sent(error)
