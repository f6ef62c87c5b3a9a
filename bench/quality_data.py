"""Reading the labelled files of bench/quality.py: items and name cases, checked line by line.

Every problem names the file and line, so a hand-edited evaluation file is easy to fix.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sanctionwatch.errors import SanctionwatchError

LABELS = ("alert", "quiet")
ITEM_HINT = 'an item line: {"id", "label": "alert"|"quiet", "lang", "title", "text"}'
NAME_HINT = (
    'a name line: {"id", "text", "expect": [{"span", "entity"}]}'
    ' or {"id", "text", "forbid": [{"span", "not"}]}'
)


class BenchInputError(SanctionwatchError):
    """A labelled file is missing or malformed (exit 2, like other bad input files)."""

    exit_code = 2


@dataclass(frozen=True)
class LabelledItem:
    id: str
    label: str  # "alert" | "quiet"
    lang: str
    title: str
    text: str
    where: str  # "file:line", for messages


@dataclass(frozen=True)
class NameCase:
    id: str
    text: str
    expect: tuple[tuple[str, str], ...]  # (span, canonical entity) that must be matched
    forbid: tuple[tuple[str, str], ...]  # (span, entity) the span must not be taken for
    where: str


def _text(obj: dict[str, Any], key: str, where: str, hint: str, required: bool = True) -> str:
    value = obj.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise BenchInputError(f"{where}: key {key!r} must be non-empty text, got {value!r}", hint)
    return value


def _item(obj: dict[str, Any], where: str) -> LabelledItem:
    label = obj.get("label")
    if label not in LABELS:
        raise BenchInputError(f"{where}: 'label' must be alert or quiet, got {label!r}", ITEM_HINT)
    return LabelledItem(
        id=_text(obj, "id", where, ITEM_HINT),
        label=str(label),
        lang=_text(obj, "lang", where, ITEM_HINT),
        title=_text(obj, "title", where, ITEM_HINT, required=False),
        text=_text(obj, "text", where, ITEM_HINT, required=False),
        where=where,
    )


def _spans(
    obj: dict[str, Any], key: str, other: str, text: str, where: str
) -> tuple[tuple[str, str], ...]:
    raw = obj.get(key)
    if raw is None:
        return ()
    if not isinstance(raw, list) or not raw:
        raise BenchInputError(f"{where}: {key!r} must be a non-empty list", NAME_HINT)
    out = []
    for i, part in enumerate(raw, 1):
        at = f"{where}: {key}[{i}]"
        if not isinstance(part, dict):
            raise BenchInputError(f"{at}: must be an object, got {part!r}", NAME_HINT)
        span, name = _text(part, "span", at, NAME_HINT), _text(part, other, at, NAME_HINT)
        if span not in text:
            raise BenchInputError(f"{at}: span {span!r} does not occur in 'text'", NAME_HINT)
        out.append((span, name))
    return tuple(out)


def _name_case(obj: dict[str, Any], where: str) -> NameCase:
    text = _text(obj, "text", where, NAME_HINT)
    return NameCase(
        id=_text(obj, "id", where, NAME_HINT),
        text=text,
        expect=_spans(obj, "expect", "entity", text, where),
        forbid=_spans(obj, "forbid", "not", text, where),
        where=where,
    )


def read_cases(path: Path) -> tuple[list[LabelledItem], list[NameCase]]:
    """Items (lines with 'label') and name cases (lines with 'expect'/'forbid') of one file."""
    try:
        data = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BenchInputError(
            f"{path}: file not found",
            hint="give labelled JSONL files as arguments, or put the dev set there",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BenchInputError(f"{path}: cannot read: {exc}") from exc
    items: list[LabelledItem] = []
    names: list[NameCase] = []
    for n, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BenchInputError(
                f"{path}: line {n}: not valid JSON ({exc.msg} at column {exc.colno})",
                hint="one JSON object a line",
            ) from None
        if not isinstance(obj, dict):
            raise BenchInputError(f"{path}: line {n}: not a JSON object", "one object a line")
        if "label" in obj:
            items.append(_item(obj, where))
        elif "expect" in obj or "forbid" in obj:
            names.append(_name_case(obj, where))
        else:
            raise BenchInputError(
                f"{path}: line {n}: neither an item ('label') nor a name case"
                " ('expect' / 'forbid')",
                hint=f"{ITEM_HINT}; {NAME_HINT}",
            )
    if not items and not names:
        raise BenchInputError(f"{path}: no cases in the file", hint=f"{ITEM_HINT}; {NAME_HINT}")
    return items, names
