"""Streaming, safe reading of list XML files shared by the Canada and OFAC XML parsers.

defusedxml refuses DTDs, entity expansion and external references (a list download that
turns out to be an HTML error page with a DOCTYPE is refused with a clear message, never
parsed). Records are handed out one at a time and cleared afterwards, so a large list is
never held twice in memory.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as safe_et

from sanctionwatch.watchlists.importers.common import clean, format_error


def local(tag: Any) -> str:
    """The tag without its ``{namespace}``: OFAC's namespace URI has changed over the years."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def child(elem: Element, name: str) -> Element | None:
    for c in elem:
        if local(c.tag) == name:
            return c
    return None


def children(elem: Element, name: str) -> list[Element]:
    return [c for c in elem if local(c.tag) == name]


def text(elem: Element | None, name: str) -> str:
    """The cleaned text of the first child called ``name`` (any namespace), or ""."""
    if elem is None:
        return ""
    found = child(elem, name)
    return clean(found.text) if found is not None else ""


def records(
    path: Path,
    data: bytes,
    fmt: str,
    root_tag: str,
    record_tag: str,
    on_other: Callable[[Element], None] | None = None,
) -> Iterator[Element]:
    """Each ``record_tag`` element (cleared after the caller is done with it). The root must
    be ``root_tag``; ``on_other`` sees every other completed direct child of the root (e.g.
    OFAC's publication header)."""
    depth = 0
    try:
        for event, elem in safe_et.iterparse(
            io.BytesIO(data), events=("start", "end"), forbid_dtd=True
        ):
            tag = local(elem.tag)
            if event == "start":
                depth += 1
                if depth == 1 and tag != root_tag:
                    raise format_error(
                        path, fmt, f"not the expected XML (root is <{tag}>, not <{root_tag}>)"
                    )
                continue
            depth -= 1
            if depth != 1:
                continue
            if tag == record_tag:
                yield elem
            elif on_other is not None:
                on_other(elem)
            elem.clear()
    except ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        raise format_error(
            path,
            fmt,
            f"not well-formed XML at line {line}, column {column} "
            f"(corrupted, mis-encoded or truncated download?)",
        ) from exc
    except defusedxml.DTDForbidden as exc:
        raise format_error(path, fmt, "has a DOCTYPE (an HTML error page?); refused") from exc
    except (defusedxml.EntitiesForbidden, defusedxml.ExternalReferenceForbidden) as exc:
        raise format_error(path, fmt, "declares XML entities; refused for safety") from exc
