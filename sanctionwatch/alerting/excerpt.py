"""The excerpt an analyst reads instead of opening the link: where a rule's clauses meet.

One to three consecutive sentences of the item's text that name the most distinct entities
the rules fired on (ties: fewer sentences, then earlier), stored as ``[text, bold]`` segments
so the formatter can bold the matched words after escaping the rest. Title-only alerts take
the text's opening sentences.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sanctionwatch.models import Match

MAX_SENTENCES = 3  # the "one to three sentences"
# A longer excerpt is cut: an analyst reads a paragraph, not a page (and one section holds
# 3,000 characters after escaping and bold marks).
MAX_EXCERPT_CHARS = 700
# Sentence ends: . ! ? and their CJK/Arabic forms followed by space, or a line break.
_SENTENCE_END_RE = re.compile(r"(?<=[.!?。！？؟])\s+|\n+")

Segment = tuple[str, bool]


def sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the text's sentences, whitespace trimmed."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _SENTENCE_END_RE.finditer(text):
        if text[start : m.start()].strip():
            spans.append((start, m.start()))
        start = m.end()
    if text[start:].strip():
        spans.append((start, len(text)))
    return spans


def _best_window(spans: list[tuple[int, int]], matches: Sequence[Match]) -> tuple[int, int]:
    """Indexes [i, j) of the sentence window holding the most distinct entities."""
    best: tuple[int, int, int, int] | None = None  # (-entities, length, i, j)
    for i in range(len(spans)):
        for j in range(i + 1, min(i + MAX_SENTENCES, len(spans)) + 1):
            lo, hi = spans[i][0], spans[j - 1][1]
            found = {m.entity_id for m in matches if m.start >= lo and m.end <= hi}
            key = (-len(found), j - i, i, j)
            if best is None or key < best:
                best = key
    return (best[2], best[3]) if best else (0, 0)


def excerpt(
    text: str, rule_matches: Sequence[Match], all_matches: Sequence[Match]
) -> list[Segment]:
    """Segments of the excerpt: the window chosen by ``rule_matches`` (text field), with
    every match of ``all_matches`` inside it in bold. Empty when the item has no text."""
    spans = sentences(text)
    if not spans:
        return []
    # The rules' entities wherever the text names them: a rule whose clauses met in the
    # title still has its actors together somewhere in the text.
    wanted = {m.entity_id for m in rule_matches}
    in_text = [m for m in all_matches if m.field == "text" and m.entity_id in wanted]
    i, j = _best_window(spans, in_text) if in_text else (0, min(2, len(spans)))
    lo, hi = spans[i][0], spans[j - 1][1]
    cut = hi - lo > MAX_EXCERPT_CHARS
    hi = min(hi, lo + MAX_EXCERPT_CHARS)
    bold = sorted(  # at one start the longer match first ("Wagner Group" over "Wagner")
        {
            (m.start, m.end)
            for m in all_matches
            if m.field == "text" and lo <= m.start < m.end <= hi
        },
        key=lambda span: (span[0], -span[1]),
    )
    segments: list[Segment] = []
    at = lo
    for start, end in bold:
        if start < at:  # overlapping matches: the earlier one wins
            continue
        if start > at:
            segments.append((text[at:start], False))
        segments.append((text[start:end], True))
        at = end
    if hi > at:
        segments.append((text[at:hi], False))
    if cut:
        segments.append(("…", False))
    return [(_squash(s), b) for s, b in segments if s]


def _squash(s: str) -> str:
    """Runs of whitespace as one space (keeping a leading/trailing one: it separates words)."""
    return re.sub(r"\s+", " ", s)
