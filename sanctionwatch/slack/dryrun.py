"""The dry-run poster: no Slack token, so every message is written, readable, to a stream."""

from __future__ import annotations

import html
import re
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

_LINK_RE = re.compile(r"<([^<>|]+)\|([^<>]*)>|<([^<>]+)>")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class DryRunPoster:
    """No Slack token: writes each message, readable, to ``out`` (a terminal, usually)."""

    # Nothing reaches Slack: an export "uploaded" here must not be recorded as uploaded.
    dry_run = True

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self._count = 0

    def post(
        self,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]],
        metadata: dict[str, Any] | None = None,
        *,
        thread_ts: str | None = None,
    ) -> str:
        self._count += 1
        ts = f"dryrun.{self._count:06d}"
        where = f" (thread {_plain(thread_ts)})" if thread_ts else ""
        self._write(f"── message to {_plain(channel)}{where} (dry run, ts {ts}) ──", blocks, text)
        return ts

    def find_message(
        self,
        channel: str,
        event_type: str,
        key: str,
        value: int,
        oldest: datetime,
        *,
        thread_ts: str | None = None,
    ) -> str | None:
        """A terminal keeps no history: a dry-run post never loses its answer anyway."""
        return None

    def update(self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]]) -> None:
        self._write(f"── update of {_plain(ts)} in {_plain(channel)} (dry run) ──", blocks, text)

    def upload_file(self, channel: str, path: Path, *, title: str, comment: str = "") -> None:
        size = path.stat().st_size if path.is_file() else 0
        lines = [f"── file for {_plain(channel)} (dry run): {_plain(title)} ──"]
        lines.append(f"{path} ({size} bytes)")
        if comment:
            lines.append(_plain(comment))
        self.out.write("\n".join(lines) + "\n\n")
        self.out.flush()

    def _write(self, banner: str, blocks: list[dict[str, Any]], text: str) -> None:
        lines = [banner]
        body = [line for block in blocks for line in _block_lines(block)]
        lines.extend(body or [_mrkdwn_to_plain(text)])
        self.out.write("\n".join(lines) + "\n\n")
        self.out.flush()


def _plain(text: str) -> str:
    """Strip terminal control characters (feed text could carry escape sequences)."""
    return _CONTROL_RE.sub("", text)


def _mrkdwn_to_plain(text: str) -> str:
    """``*<url|title>*`` → ``title (url)``, ``<@U1>`` → ``@U1``, entities decoded."""

    def link(m: re.Match[str]) -> str:
        if m.group(1) is not None:
            return f"{m.group(2)} ({m.group(1)})"
        target = m.group(3)
        return target if target[:1] not in "@#!" else target[:1].replace("!", "@") + target[1:]

    text = _LINK_RE.sub(link, text).replace("*", "")
    return _plain(html.unescape(text))


def _block_lines(block: dict[str, Any]) -> list[str]:
    kind = block.get("type")
    if kind == "header":
        return [_plain(str(block.get("text", {}).get("text", "")))]
    if kind == "section":
        lines = [_mrkdwn_to_plain(str(block.get("text", {}).get("text", "")))]
        lines += [_mrkdwn_to_plain(str(f.get("text", ""))) for f in block.get("fields", [])]
        return lines
    if kind == "context":
        return ["  " + _mrkdwn_to_plain(str(e.get("text", ""))) for e in block.get("elements", [])]
    if kind == "actions":
        labels = [str(e.get("text", {}).get("text", "")) for e in block.get("elements", [])]
        return ["  [" + "] [".join(_plain(x) for x in labels) + "]"] if labels else []
    return []
