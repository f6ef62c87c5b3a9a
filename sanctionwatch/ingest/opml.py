"""OPML 2.0 import and export of the feed list (what every feed reader reads and writes).

Import reads every ``<outline>`` with an ``xmlUrl`` at any depth (folders are flattened; the
outline's ``title`` or ``text`` is the feed name). Parsed with defusedxml: an OPML file is
foreign input like any feed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from xml.etree.ElementTree import Element, ParseError, SubElement, indent, tostring

import defusedxml
import defusedxml.ElementTree as safe_et

from sanctionwatch.errors import FeedError


@dataclass(frozen=True)
class Outline:
    name: str
    url: str


def parse_opml(data: bytes, source: str) -> list[Outline]:
    try:
        root = safe_et.fromstring(data, forbid_dtd=True)
    except ParseError as exc:
        raise FeedError(f"{source}: not well-formed OPML ({exc})") from exc
    except (defusedxml.DTDForbidden, defusedxml.EntitiesForbidden) as exc:
        raise FeedError(f"{source}: OPML with a DOCTYPE or entities is refused") from exc
    if root.tag.rsplit("}", 1)[-1] != "opml":
        raise FeedError(f"{source}: not an OPML file (root is <{root.tag}>)")
    out = []
    for outline in root.iter():
        if outline.tag.rsplit("}", 1)[-1] != "outline" or not outline.get("xmlUrl"):
            continue
        url = (outline.get("xmlUrl") or "").strip()
        name = (outline.get("title") or outline.get("text") or url).strip()
        out.append(Outline(name, url))
    return out


def write_opml(feeds: list[Outline], now: datetime, title: str = "sanctionwatch feeds") -> str:
    root = Element("opml", version="2.0")
    head = SubElement(root, "head")
    SubElement(head, "title").text = title
    SubElement(head, "dateCreated").text = now.strftime("%a, %d %b %Y %H:%M:%S +0000")
    body = SubElement(root, "body")
    for feed in feeds:
        SubElement(body, "outline", type="rss", text=feed.name, title=feed.name, xmlUrl=feed.url)
    indent(root)  # one outline a line: diffable, and readable by people as well as readers
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(root, encoding="unicode") + "\n"
