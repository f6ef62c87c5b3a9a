"""Reading the YAML files people edit (watchlists, rules): one parser with errors that name the
file and line, and a cheap fingerprint of a folder of them (path, size, mtime) so that caches
know when to reload."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml

from sanctionwatch.errors import SanctionwatchError

YAML_SUFFIXES = (".yaml", ".yml")
# libyaml's loader when PyYAML was built with it: the multilingual watchlists are large and
# the pure-Python scanner made start-up and `check` several seconds slower.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def yaml_files(folder: Path) -> list[Path]:
    """The YAML files of a folder, sorted (none when the folder does not exist)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in YAML_SUFFIXES and p.is_file())


def folder_fingerprint(*folders: Path) -> str:
    """Changes whenever a YAML file in one of ``folders`` is added, removed or rewritten."""
    h = hashlib.sha256()
    for folder in folders:
        for path in yaml_files(folder):
            st = path.stat()
            h.update(f"{path}:{st.st_mtime_ns}:{st.st_size};".encode())
    return h.hexdigest()


def read_yaml(path: Path, error_cls: type[SanctionwatchError]) -> tuple[Any, yaml.Node | None]:
    """Parse a YAML file; return (data, node tree). Syntax errors name the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise error_cls(f"{path}: not UTF-8 text ({exc.reason})", hint="save it as UTF-8") from exc
    except OSError as exc:
        raise error_cls(f"{path}: cannot read ({exc.strerror})", hint="check the path") from exc
    try:
        loader = _LOADER(text)  # one parse: the node tree (for line numbers) and the data
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown line"
        problem = exc.problem or exc.context or "invalid YAML"
        raise error_cls(
            f"{path}: YAML syntax error at {where}: {problem}",
            hint="check indentation and quoting near that line (strings with ': ' need quotes)",
        ) from exc
    except yaml.YAMLError as exc:
        raise error_cls(f"{path}: YAML error: {exc}", hint="check the file's syntax") from exc
    return data, node


def item_lines(node: yaml.Node | None, key: str) -> list[int]:
    """1-based line numbers of the items of the sequence under `key` of a mapping node."""
    if not isinstance(node, yaml.MappingNode):
        return []
    for key_node, value_node in node.value:
        if getattr(key_node, "value", None) == key and isinstance(value_node, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value_node.value]
    return []
