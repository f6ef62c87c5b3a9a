"""What Slack accepts: Block Kit validation, text budgeting, and a last-resort clamp.

Slack refuses a whole message (``invalid_blocks``) when one text is a character too long, so
an alert about a 2,000-character tracking URL full of ``&`` would be lost. Every message the
bot sends is therefore built to these limits and checked here: slack-sdk's own models
(``slack_sdk.models.blocks``) plus the limits from Slack's Block Kit reference that slack-sdk
does not check (nested texts, fields, button labels, empty texts).

Lengths are counted in UTF-16 code units (``slack_len``). Slack documents its limits in
"characters" without saying which; UTF-16 units are never fewer than code points, so a text
within budget here is within Slack's limit whichever way Slack counts (an emoji costs two).
Budgets are applied to the text *as sent*, i.e. after mrkdwn escaping: ``&`` costs five.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Iterator
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

from sanctionwatch.errors import InvalidMessageError

log = logging.getLogger(__name__)

# Slack's documented Block Kit limits (https://api.slack.com/reference/block-kit).
MAX_BLOCKS = 50  # blocks per message
MAX_SECTION_TEXT = 3000  # section text
MAX_SECTION_FIELDS = 10  # fields per section
MAX_FIELD_TEXT = 2000  # each section field
MAX_HEADER_TEXT = 150  # header (plain_text only)
MAX_CONTEXT_ELEMENTS = 10  # elements per context block
MAX_TEXT_OBJECT = 3000  # any other text object (context elements)
MAX_ACTIONS_ELEMENTS = 25  # elements per actions block
MAX_BUTTON_TEXT = 75  # button label (plain_text)
MAX_BUTTON_VALUE = 2000
MAX_BUTTON_URL = 3000
MAX_BLOCK_ID = 255
MAX_ACTION_ID = 255
MAX_MESSAGE_TEXT = 40000  # top-level text: Slack answers msg_too_long beyond this
# Our own policy for the top-level text (notifications, screen readers): the blocks carry the
# message, the fallback only has to identify it.
MAX_FALLBACK_TEXT = 4000
ELLIPSIS = "…"
# A "character" for cutting: a base character plus what attaches to it (combining marks, ZWJ
# sequences, variation selectors, skin tones). Capped so a Zalgo pile is still cuttable.
MAX_CLUSTER_CODEPOINTS = 32

TEXT_TYPES = ("plain_text", "mrkdwn")
BUTTON_STYLES = ("primary", "danger")
_SURROGATE_RE = re.compile(r"[\ud800-\udfff]")
# mrkdwn tokens a cut must not split: an entity (&amp;) or a <link|mention>.
_MRKDWN_TOKEN_RE = re.compile(r"&[a-zA-Z]{2,4};|<[^<>]*>")
_ZWJ = "\u200d"


def slack_len(text: str) -> int:
    """Length as Slack may count it: UTF-16 code units (≥ code points; emoji count 2)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def clean(text: str) -> str:
    """Unpaired surrogates (undecodable bytes smuggled through) become U+FFFD: they cannot be
    encoded as UTF-8 and would make the whole request body invalid."""
    return _SURROGATE_RE.sub("\ufffd", text)


def _attaches(ch: str, prev: str) -> bool:
    """Does ``ch`` belong to the character before it (never cut between them)?"""
    code = ord(ch)
    return (
        prev == _ZWJ
        or ch == _ZWJ
        or unicodedata.category(ch) in ("Mn", "Me", "Mc")
        or 0xFE00 <= code <= 0xFE0F  # variation selectors
        or 0x1F3FB <= code <= 0x1F3FF  # skin-tone modifiers
        or 0xE0020 <= code <= 0xE007F  # emoji tag characters (subdivision flags)
        or 0xE0100 <= code <= 0xE01EF  # variation selectors supplement
        or (_is_regional(ch) and _is_regional(prev))  # a flag is a pair of these
    )


def _is_regional(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def clusters(text: str) -> Iterator[str]:
    """``text`` in user-perceived characters (an approximation of grapheme clusters that is
    good enough to never show half an emoji or a letter without its accent after a cut)."""
    current = ""
    for ch in text:
        if current and _attaches(ch, current[-1]) and len(current) < MAX_CLUSTER_CODEPOINTS:
            if _is_regional(ch) and len(current) >= 2:  # a third indicator starts a new flag
                yield current
                current = ch
                continue
            current += ch
            continue
        if current:
            yield current
        current = ch
    if current:
        yield current


def fit(text: str, limit: int, render: Callable[[str], str] = lambda s: s) -> str:
    """``render(text)`` if it fits ``limit`` (in ``slack_len`` units), else the rendering of the
    longest prefix that fits with "…" after it. Cut between characters (``clusters``), never
    inside what ``render`` makes of one (an ``&amp;``)."""
    text = clean(text)
    whole = render(text)
    if slack_len(whole) <= limit:
        return whole
    budget = limit - slack_len(ELLIPSIS)
    out: list[str] = []
    used = 0
    for cluster in clusters(text):
        piece = render(cluster)
        cost = slack_len(piece)
        if used + cost > budget:
            break
        out.append(piece)
        used += cost
    return "".join(out).rstrip() + ELLIPSIS if limit >= 1 else ""


def cut_mrkdwn(text: str, limit: int) -> str:
    """Already-formatted mrkdwn cut to ``limit`` without splitting an entity or a ``<…>`` link
    or mention (a link that does not fit is dropped whole)."""
    text = clean(text)
    if slack_len(text) <= limit:
        return text
    budget = limit - slack_len(ELLIPSIS)
    out: list[str] = []
    used = 0
    for token in _mrkdwn_tokens(text):
        cost = slack_len(token)
        if used + cost > budget:
            break
        out.append(token)
        used += cost
    return "".join(out).rstrip() + ELLIPSIS


def _mrkdwn_tokens(text: str) -> Iterator[str]:
    pos = 0
    for m in _MRKDWN_TOKEN_RE.finditer(text):
        yield from clusters(text[pos : m.start()])
        yield m.group(0)
        pos = m.end()
    yield from clusters(text[pos:])


# ------------------------------------------------------------------ validation
def _text_problems(where: str, obj: Any, limit: int, types: tuple[str, ...]) -> list[str]:
    if not isinstance(obj, dict):
        return [f"{where}: a text object is required"]
    kind = obj.get("type")
    if kind not in types:
        return [f"{where}: text type {kind!r} is not allowed here (allowed: {', '.join(types)})"]
    text = obj.get("text")
    if not isinstance(text, str):
        return [f"{where}: text must be a string"]
    if not text:
        return [f"{where}: text is empty (at least 1 character)"]
    if _SURROGATE_RE.search(text):
        return [f"{where}: text contains an unpaired surrogate (not encodable)"]
    n = slack_len(text)
    if n > limit:
        return [f"{where}: text is {n} characters, the limit is {limit}"]
    return []


def _id_problems(where: str, node: dict[str, Any], key: str, limit: int) -> list[str]:
    value = node.get(key)
    if value is None:
        return []
    if not isinstance(value, str) or not value:
        return [f"{where}: {key} must be a non-empty string"]
    if slack_len(value) > limit:
        return [f"{where}: {key} is {slack_len(value)} characters, the limit is {limit}"]
    return []


def _button_problems(where: str, el: dict[str, Any]) -> list[str]:
    out = _text_problems(f"{where} label", el.get("text"), MAX_BUTTON_TEXT, ("plain_text",))
    out += _id_problems(where, el, "action_id", MAX_ACTION_ID)
    out += _id_problems(where, el, "value", MAX_BUTTON_VALUE)
    out += _id_problems(where, el, "url", MAX_BUTTON_URL)
    if el.get("style") is not None and el.get("style") not in BUTTON_STYLES:
        out.append(f"{where}: style {el.get('style')!r} is not primary or danger")
    return out


def _limit_problems(where: str, block: dict[str, Any]) -> list[str]:
    """The documented limits slack-sdk's models leave unchecked, per block type."""
    kind = block.get("type")
    out = _id_problems(where, block, "block_id", MAX_BLOCK_ID)
    if kind == "header":
        out += _text_problems(where, block.get("text"), MAX_HEADER_TEXT, ("plain_text",))
    elif kind == "section":
        fields = block.get("fields")
        if "text" in block or not fields:
            out += _text_problems(where, block.get("text"), MAX_SECTION_TEXT, TEXT_TYPES)
        if fields is not None:
            if not isinstance(fields, list) or not 1 <= len(fields) <= MAX_SECTION_FIELDS:
                out.append(f"{where}: fields must be 1 to {MAX_SECTION_FIELDS} text objects")
            else:
                for i, f in enumerate(fields):
                    out += _text_problems(f"{where} field {i}", f, MAX_FIELD_TEXT, TEXT_TYPES)
    elif kind in ("context", "actions"):
        elements = block.get("elements")
        most = MAX_CONTEXT_ELEMENTS if kind == "context" else MAX_ACTIONS_ELEMENTS
        if not isinstance(elements, list) or not 1 <= len(elements) <= most:
            return out + [f"{where}: elements must be 1 to {most} items"]
        for i, el in enumerate(elements):
            at = f"{where} element {i}"
            if not isinstance(el, dict):
                out.append(f"{at}: not an object")
            elif kind == "context" and el.get("type") in TEXT_TYPES:
                out += _text_problems(at, el, MAX_TEXT_OBJECT, TEXT_TYPES)
            elif el.get("type") == "button":
                out += _button_problems(at, el)
    return out


def _sdk_problems(where: str, block: dict[str, Any]) -> list[str]:
    """slack-sdk's own model validation of the block and of the elements inside it."""
    try:
        parsed = Block.parse(block)
        if parsed is None:
            return [f"{where}: unknown block type {block.get('type')!r}"]
        parsed.validate_json()
        for el in getattr(parsed, "elements", None) or []:
            if hasattr(el, "validate_json"):
                el.validate_json()
    except SlackObjectFormationError as exc:
        return [f"{where}: {exc}"]
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        return [f"{where}: malformed ({type(exc).__name__}: {exc})"]
    return []


def problems(blocks: Any) -> list[str]:
    """Why Slack would refuse these blocks; empty when it would accept them.

    Each problem names the block by index and type and the limit broken, e.g.
    ``block 1 (section): text is 3692 characters, the limit is 3000``."""
    if not isinstance(blocks, list):
        return ["blocks must be a list"]
    out: list[str] = []
    if len(blocks) > MAX_BLOCKS:
        out.append(f"{len(blocks)} blocks, the limit is {MAX_BLOCKS}")
    for i, block in enumerate(blocks):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            out.append(f"block {i}: not an object with a type")
            continue
        where = f"block {i} ({block['type']})"
        sdk = _sdk_problems(where, block)
        out += sdk
        out += [p for p in _limit_problems(where, block) if p not in sdk]
    return out


def message_problems(
    text: str, blocks: Any, max_text: int = MAX_FALLBACK_TEXT
) -> list[tuple[str, str]]:
    """(Slack error code, problem) for a whole message: its blocks, and its top-level text
    against our own ``max_text`` policy (Slack's hard limit is ``MAX_MESSAGE_TEXT``)."""
    out: list[tuple[str, str]] = []
    if not text and not blocks:
        out.append(("no_text", "neither text nor blocks"))
    if text and slack_len(text) > max_text:
        code = "msg_too_long" if slack_len(text) > MAX_MESSAGE_TEXT else "text_too_long"
        out.append((code, f"text is {slack_len(text)} characters, the limit is {max_text}"))
    if text and _SURROGATE_RE.search(text):
        out.append(("invalid_text", "text contains an unpaired surrogate (not encodable)"))
    if blocks:
        out += [("invalid_blocks", p) for p in problems(blocks)]
    return out


def ensure_valid(text: str, blocks: Any, what: str = "message") -> None:
    """Raise ``InvalidMessageError`` naming every block and limit broken, if any."""
    found = message_problems(text, blocks)
    if found:
        details = "; ".join(p for _code, p in found)
        raise InvalidMessageError(
            f"the Slack {what} would be refused: {details}",
            "a formatter produced an over-limit message; report it with the alert id",
            error=found[0][0],
        )


# ------------------------------------------------------------------ degrade
def _clamp_text(obj: Any, limit: int, fallback: str = ELLIPSIS) -> None:
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        return
    cut = obj["text"]
    if obj.get("type") == "mrkdwn":
        cut = cut_mrkdwn(cut, limit)
    else:
        cut = fit(cut, limit)
    obj["text"] = cut if cut.strip() else fallback


def clamp(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A copy of ``blocks`` cut until Slack accepts it: texts cut with "…", extra fields and
    context elements dropped, blocks beyond 50 dropped (the last actions block, the review
    buttons, is kept), and any block still invalid dropped. The last resort of every formatter
    (they budget their texts themselves); logs what it had to do."""
    out: list[dict[str, Any]] = []
    for block in blocks:
        if not isinstance(block, dict):
            continue
        b = _copy(block)
        kind = b.get("type")
        if kind == "header":
            _clamp_text(b.get("text"), MAX_HEADER_TEXT)
        elif kind == "section":
            _clamp_text(b.get("text"), MAX_SECTION_TEXT)
            if isinstance(b.get("fields"), list):
                b["fields"] = b["fields"][:MAX_SECTION_FIELDS]
                for f in b["fields"]:
                    _clamp_text(f, MAX_FIELD_TEXT)
        elif kind == "context" and isinstance(b.get("elements"), list):
            b["elements"] = b["elements"][:MAX_CONTEXT_ELEMENTS]
            for el in b["elements"]:
                _clamp_text(el, MAX_TEXT_OBJECT)
        elif kind == "actions" and isinstance(b.get("elements"), list):
            b["elements"] = b["elements"][:MAX_ACTIONS_ELEMENTS]
            for el in b["elements"]:
                if isinstance(el, dict):
                    _clamp_text(el.get("text"), MAX_BUTTON_TEXT)
        if problems([b]):
            log.warning("block dropped type=%s problems=%s", kind, problems([b]))
            continue
        out.append(b)
    if len(out) > MAX_BLOCKS:
        last_actions = next((b for b in reversed(out) if b.get("type") == "actions"), None)
        keep = MAX_BLOCKS - (1 if last_actions is not None else 0)
        head = [b for b in out if b is not last_actions][:keep]
        out = head + ([last_actions] if last_actions is not None else [])
    return out


def _copy(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _copy(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_copy(v) for v in node]
    return node


def checked(text: str, blocks: list[dict[str, Any]], what: str) -> tuple[str, list[dict[str, Any]]]:
    """``(text, blocks)`` made acceptable: returned as is when valid (the normal case), else
    clamped, with an error logged naming what was wrong (a formatter's budget is off)."""
    found = message_problems(text, blocks)
    if not found:
        return text, blocks
    log.error("message over Slack limits, clamped what=%s problems=%s", what, found[:5])
    return fit(text, MAX_FALLBACK_TEXT) if text else text, clamp(blocks)
