"""Log records split into an event and typed fields, rendered so no value can forge a field.

The code logs ``log.info("feed polled feed=%s status=%s", name, status)``: the message is a
constant written by us, the arguments may come from a feed server, a feed file or Slack
(a reason phrase, a ``Location``, an exception text). `split_record()` pairs each
``key=%s``/``key=%r``/``key=%d`` placeholder with its argument, so the formatters in
`logsetup` can write each value as one logfmt value (quoted and escaped when it holds
spaces, ``=``, quotes, backslashes, newlines or other control characters) or as a real
JSON field. ``error="HTTP 500 x level=ERROR"`` then stays one field.

Messages that do not follow the pattern (a ``%s`` without ``key=`` before it, free text
after the fields) are "irregular": their key fields are still extracted and the whole
rendered message is carried as one quoted ``msg`` field. Text in the constant message is
trusted, but control characters in it are escaped anyway, so even a message built with an
f-string cannot start a new log line.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["RESERVED_KEYS", "Split", "logfmt_value", "one_line", "split_record"]

# Keys the formatters write themselves; a message field with one of these names is renamed
# (``level`` -> ``level_``) so a message can never overwrite them.
RESERVED_KEYS = frozenset({"ts", "level", "logger", "event", "msg", "exc", "stack"})
# A %-conversion as the logging module applies it (printf-style, one argument each).
_SPEC = re.compile(
    r"%(?P<map>\([^)]*\))?(?P<flags>[#0 +-]*)(?P<width>\*|\d+)?(?:\.(?P<prec>\*|\d+))?"
    r"[hlL]?(?P<conv>[diouxXeEfFgGcrsa%])"
)
_KEY_BEFORE = re.compile(r"(?:^|(?<=\s))(?P<key>[A-Za-z_][\w.-]*)=$")
_LITERAL_FIELD = re.compile(r"(?P<key>[A-Za-z_][\w.-]*)=(?P<value>\S*)$")
_NEEDS_QUOTES = frozenset(' ="\\')
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


@dataclass
class Split:
    """One record's message as an event name, ordered fields and the full rendered text."""

    event: str
    # (key, typed value for JSON, text as rendered by the placeholder)
    fields: list[tuple[str, object, str]] = field(default_factory=list)
    message: str = ""  # the message as getMessage() renders it
    regular: bool = True  # False: carry `message` as a msg field


def split_record(msg: object, args: object) -> Split:
    """Split ``msg % args`` into event and fields (see the module docstring)."""
    if not isinstance(msg, str) or isinstance(args, Mapping):
        text = str(msg) if not args else str(msg) % args
        return Split(event="", message=text, regular=False)
    values = tuple(args) if isinstance(args, tuple) else (() if args is None else (args,))
    split = Split(event="")
    literal = ""  # constant text since the last placeholder
    seen_field = False
    used = 0
    pos = 0
    parts: list[str] = []  # the rendered message
    for match in _SPEC.finditer(msg):
        literal += msg[pos : match.start()]
        pos = match.end()
        if match["conv"] == "%":
            literal += "%"
            continue
        starred = "*" in (match["width"] or "") + (match["prec"] or "")
        if match["map"] is not None or starred or used >= len(values):
            return _irregular(msg, args)
        value = values[used]
        used += 1
        spec = "%" + match["flags"] + (match["width"] or "")
        spec += ("." + match["prec"] if match["prec"] is not None else "") + match["conv"]
        shown = value if match["conv"] == "r" and isinstance(value, str) else spec % (value,)
        key_match = _KEY_BEFORE.search(literal)
        if key_match is None:  # a value without a key: only the whole message can carry it
            split.regular = False
            if not seen_field:
                seen_field = _take_literal(split, literal, seen_field) or True
            parts.append(literal + spec % (value,))
        else:
            seen_field = _take_literal(split, literal[: key_match.start()], seen_field)
            key = key_match["key"]
            split.fields.append((key, _typed(value, match["conv"], str(shown)), str(shown)))
            parts.append(literal + logfmt_value(shown))
            seen_field = True
        literal = ""
    if used != len(values):
        return _irregular(msg, args)
    literal += msg[pos:]
    _take_literal(split, literal, seen_field)
    parts.append(literal)
    split.message = "".join(parts)
    return split


def _take_literal(split: Split, text: str, seen_field: bool) -> bool:
    """Constant text: the event (before any field), literal key=value fields, else irregular."""
    words = text.split()
    if not seen_field:
        names: list[str] = []
        while words and _LITERAL_FIELD.match(words[0]) is None:
            names.append(words.pop(0))
        split.event = split.event or _event(" ".join(names))
        seen_field = bool(words)
    for word in words:
        found = _LITERAL_FIELD.match(word)
        if found is None:
            split.regular = False
            continue
        split.fields.append((found["key"], found["value"], found["value"]))
    return seen_field


def _irregular(msg: str, args: object) -> Split:
    return Split(event="", message=msg % args if args else msg, regular=False)


def _event(text: str) -> str:
    return text.strip().rstrip(";:,").strip()


def _typed(value: object, conv: str, shown: str) -> object:
    """The JSON value for one placeholder: numbers stay numbers, None stays null."""
    if conv in "di" and shown.lstrip("-").isdigit():
        return int(shown)
    if conv in "eEfFgG":
        number = float(shown)
        return number if math.isfinite(number) else shown
    if conv in "sr":
        if value is None or isinstance(value, bool | int | str):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else shown
        if isinstance(value, list | tuple | dict) and conv == "s":
            return value
    return shown


def logfmt_value(value: object) -> str:
    """One logfmt value: bare when safe, else double-quoted with escapes."""
    if value is None:
        text = "None"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = str(value)
    if text and not any(c in _NEEDS_QUOTES or not c.isprintable() for c in text):
        return text
    return '"' + "".join(_escape(c) for c in text) + '"'


def one_line(text: str) -> str:
    """``text`` with every control character escaped (no quoting): can never break a line."""
    return "".join(c if c.isprintable() or c == " " else _escape(c) for c in text)


def _escape(char: str) -> str:
    if char in _ESCAPES:
        return _ESCAPES[char]
    if char.isprintable():
        return char
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
