"""Logging to stderr: one line per event, as logfmt or (``--log-json``) as JSON objects.

Both formats carry the same fields, split from each record by `logfields.split_record`:

* text: ``ts=2024-05-01T08:00:00+00:00 level=INFO logger=sanctionwatch.alerting.pipeline
  event="feed polled" feed=Reuters status=200 new=3``; a value with spaces, ``=``, quotes,
  backslashes or control characters is double-quoted with backslash escapes, so a value
  from a feed server can never add a field or a line;
* JSON: ``{"ts": ..., "level": "info", "logger": ..., "event": "feed polled",
  "feed": "Reuters", "status": 200, "new": 3, "msg": ...}`` with numbers as numbers.

Messages that do not follow the ``key=%s`` pattern carry their whole text in ``msg``
(quoted). Tracebacks go into an ``exc`` field, escaped onto the one line, in both formats.
With JSON logging, Python warnings and uncaught exceptions (also in threads) are logged as
JSON lines too, so every line on stderr is one JSON object.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import traceback
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TextIO

from sanctionwatch.logfields import RESERVED_KEYS, logfmt_value, one_line, split_record

__all__ = [
    "JsonFormatter",
    "KeyValueFormatter",
    "StderrHandler",
    "json_logging",
    "setup_logging",
    "write_event",
]

_NOISY = ("httpx", "httpcore", "urllib3", "slack_sdk", "slack_bolt", "waitress")


def _fields(record: logging.LogRecord) -> tuple[str, list[tuple[str, object, str]], str, bool]:
    split = split_record(record.msg, record.args)
    fields: list[tuple[str, object, str]] = []
    taken = set(RESERVED_KEYS)
    for key, typed, shown in split.fields:
        name = key + "_" if key in RESERVED_KEYS else key
        n = 2
        while name in taken:  # the same key twice in one message: feed, feed_2
            name, n = f"{key}_{n}", n + 1
        taken.add(name)
        fields.append((name, typed, shown))
    return split.event, fields, split.message, split.regular


def _timestamp(record: logging.LogRecord, timespec: str) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec=timespec)


class JsonFormatter(logging.Formatter):
    """One JSON object per record, the message's fields as real JSON fields."""

    def format(self, record: logging.LogRecord) -> str:
        event, fields, message, _regular = _fields(record)
        payload: dict[str, Any] = {
            "ts": _timestamp(record, "milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": event or message,
        }
        for name, typed, _shown in fields:
            payload[name] = typed
        payload["msg"] = message
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            payload["stack"] = self.formatStack(record.stack_info)
        return json.dumps(payload, ensure_ascii=False, default=str)


class KeyValueFormatter(logging.Formatter):
    """logfmt: ``ts=… level=… logger=… event="…" key=value …``, every value quoted as needed."""

    def format(self, record: logging.LogRecord) -> str:
        event, fields, message, regular = _fields(record)
        parts = [
            f"ts={_timestamp(record, 'seconds')}",
            f"level={record.levelname}",
            f"logger={logfmt_value(record.name)}",
            f"event={logfmt_value(event or message)}",
        ]
        parts += [f"{name}={logfmt_value(shown)}" for name, _typed, shown in fields]
        if not regular and event:
            parts.append(f"msg={logfmt_value(message)}")
        if record.exc_info:
            parts.append(f"exc={logfmt_value(self.formatException(record.exc_info))}")
        if record.stack_info:
            parts.append(f"stack={logfmt_value(self.formatStack(record.stack_info))}")
        return one_line(" ".join(parts))


class StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is at emit time (tests and daemons swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def json_logging() -> bool:
    """True when the root logger writes JSON (``--log-json`` or ``log_json = true``)."""
    return any(isinstance(h.formatter, JsonFormatter) for h in logging.getLogger().handlers)


def write_event(logger: str, level: int, msg: str, *args: object) -> bool:
    """Write one record in the configured format whatever the log level (end-of-run summaries
    and command errors must reach the operator even with ``-q``). Returns False when logging
    is not in JSON mode, so the caller prints its human text instead."""
    formatter = next(
        (
            h.formatter
            for h in logging.getLogger().handlers
            if isinstance(h.formatter, JsonFormatter)
        ),
        None,
    )
    if formatter is None:
        return False
    record = logging.LogRecord(logger, level, __file__, 0, msg, args, None)
    sys.stderr.write(formatter.format(record) + "\n")
    sys.stderr.flush()
    return True


def setup_logging(level: str = "INFO", json_mode: bool = False) -> None:
    handler = StderrHandler()
    handler.setFormatter(JsonFormatter() if json_mode else KeyValueFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Third-party chatter stays at WARNING unless we debug.
    for noisy in _NOISY:
        logging.getLogger(noisy).setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)
    _route_stray_output(json_mode)


def _route_stray_output(json_mode: bool) -> None:
    """In JSON mode warnings and uncaught exceptions become JSON log lines too."""
    logging.captureWarnings(json_mode)
    if json_mode:
        sys.excepthook = _log_uncaught
        threading.excepthook = _log_thread_crash
    else:
        if sys.excepthook is _log_uncaught:
            sys.excepthook = sys.__excepthook__
        if threading.excepthook is _log_thread_crash:
            threading.excepthook = threading.__excepthook__


def _log_uncaught(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    logging.getLogger("sanctionwatch").critical(
        "uncaught exception error=%s",
        "".join(traceback.format_exception_only(kind, exc)).strip(),
        exc_info=(kind, exc, tb),
    )


def _log_thread_crash(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread is not None else "?"
    logging.getLogger("sanctionwatch").error(
        "thread crashed thread=%s error=%s",
        name,
        str(args.exc_value),
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback),  # type: ignore[arg-type]
    )
