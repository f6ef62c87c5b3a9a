"""``watchlist dump LIST``: the list as its watchlist file would be, for a pull request.

A dump is only useful if its diff against the versioned file shows the Slack edits and
nothing else. So a file list with no edits is dumped as the file's own text, byte for byte
(comments, quoting and flow style included); a file list with edits keeps the file's
leading comments, its ``list``/``source``/``description`` and every entry as written, in
order, and appends the added entries at the end. A list with no file (created from Slack, or
an imported official list) is written from its entries.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from sanctionwatch.config.yamlfiles import yaml_files
from sanctionwatch.models import Entry
from sanctionwatch.watchlists.files import dump_watchlist, entry_item


def list_file(folder: Path, list_name: str) -> Path | None:
    """The YAML file in ``folder`` that defines ``list_name`` (its ``list:`` key, else stem)."""
    if not folder.is_dir():
        return None
    for path in yaml_files(folder):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue  # `check` reports broken files; a dump looks for a readable one
        name = data.get("list") if isinstance(data, dict) else None
        if str(name or path.stem).lower() == list_name:
            return path
    return None


def _leading_comments(text: str) -> str:
    lines = []
    for line in text.splitlines(keepends=True):
        if not line.startswith("#") and line.strip():
            break
        lines.append(line)
    return "".join(lines)


def dump_list(
    folder: Path, list_name: str, baseline: Sequence[Entry], added: Sequence[Entry]
) -> str:
    """The YAML text for ``list_name``: ``baseline`` entries (files, imports) plus ``added``
    (Slack and terminal edits)."""
    path = list_file(folder, list_name)
    if path is None:
        return dump_watchlist([*baseline, *added], list_name)
    text = path.read_text(encoding="utf-8")
    if not added:
        return text
    doc: dict[str, Any] = yaml.safe_load(text)
    file_source = str(doc.get("source") or "")
    doc["entries"] = [*doc["entries"], *(entry_item(e, file_source) for e in added)]
    body = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=100)
    return _leading_comments(text) + body
