"""Inputs of bench/matching.py: the names (real OFAC SDN list, then synthetic) and the articles
(built from real news text).

Names: the default watchlists of the repository, plus the OFAC SDN list parsed by the
product's own importer (``ofac-sdn``: 51.7k names with aliases, as ``watchlist import`` stores
them), cut to the size asked for; beyond the list's size, synthetic names built from its words
and from a bounded pool of invented words (a million real names reuse a few hundred thousand
words).

Articles: real text only. The passages are every item of the real feeds in
``shared/data/feeds/real`` (summary and content, HTML removed, split into paragraphs) and every
text of ``shared/data/news-eval`` (labelled excerpts in 18 languages and the name cases), about
200 kB in all; the titles are the real items' titles. An article is one real title plus real
passages drawn at random (seeded) until its body reaches a length drawn from 2-4 kB. No two
articles are the same (title, passages) combination. Because the passage pool is small, words
repeat across the 2,000 articles; the *unseen* set (every passage exactly once, grouped into
articles of 2-4 kB) is the measure of text whose words the process has never seen.
"""

from __future__ import annotations

import functools
import html
import json
import random
import re
from collections.abc import Iterator
from pathlib import Path

import feedparser

from sanctionwatch.models import Entry
from sanctionwatch.watchlists.files import load_watchlists
from sanctionwatch.watchlists.importers import parse_list

ROOT = Path(__file__).resolve().parent.parent
SHARED = next(
    (
        p
        for p in (ROOT.parent / "shared", ROOT.parent.parent / "shared", Path("/work/shared"))
        if (p / "data").is_dir()
    ),
    Path("/work/shared"),
)
OFAC_SDN = SHARED / "data/sanctions/ofac/sdn.csv"
FEEDS = SHARED / "data/feeds/real"
NEWS_EVAL = SHARED / "data/news-eval"
SEED = 20261201
BODY_MIN, BODY_MAX = 2_000, 4_000  # characters of body text per article
PASSAGE_MIN = 80  # shorter paragraphs (bylines, "Read more") are not news text
SYNTHETIC_WORD_POOL = 200_000
_TAG_RE = re.compile(r"<[^>]+>")
_PARA_RE = re.compile(r"\n\s*\n|</p>|<br\s*/?>\s*<br\s*/?>", re.IGNORECASE)


def default_entries() -> list[Entry]:
    return load_watchlists(ROOT / "watchlists")


def ofac_entries() -> list[Entry]:
    """The OFAC SDN list as the product imports it (empty when the data is absent)."""
    if not OFAC_SDN.exists():
        return []
    return parse_list("ofac-sdn", OFAC_SDN, "ofac-sdn")


def _syllable_word(rng: random.Random) -> str:
    cons, vows = "bcdfghjklmnprstvz", "aeiou"
    return "".join(rng.choice(cons) + rng.choice(vows) for _ in range(rng.randint(2, 4)))


def entries_for(size: int, real: list[Entry]) -> Iterator[Entry]:
    """``size`` names: real OFAC entries first (aliases cut at the limit), then synthetic."""
    count = 0
    for e in real:
        if count >= size:
            return
        keep = e.names[: size - count]
        yield Entry(
            e.id,
            keep[0],
            e.type,
            e.list,
            tuple(keep[1:]),
            e.tags,
            curated=e.curated,
            programs=e.programs,
        )
        count += len(keep)
    words = [w for e in real for n in e.names for w in n.replace(",", " ").split() if len(w) > 2]
    rng = random.Random(SEED)
    pool = [_syllable_word(rng).capitalize() for _ in range(SYNTHETIC_WORD_POOL)]
    i = 0
    while count < size:
        parts = [
            rng.choice(words) if words and rng.random() < 0.5 else rng.choice(pool)
            for _ in range(rng.randint(2, 3))
        ]
        i += 1
        yield Entry(f"syn:{i}", " ".join(parts), "person", "synthetic", curated=False)
        count += 1


def _paragraphs(raw: str) -> list[str]:
    out = []
    for piece in _PARA_RE.split(raw):
        text = " ".join(html.unescape(_TAG_RE.sub(" ", piece)).split())
        if len(text) >= PASSAGE_MIN:
            out.append(text)
    return out


@functools.lru_cache(maxsize=1)
def real_texts() -> tuple[list[str], list[str]]:
    """(titles, passages) of every real feed item and labelled excerpt, in a fixed order."""
    titles: list[str] = []
    passages: list[str] = []
    for path in sorted(FEEDS.glob("*")):
        if path.name.startswith("LICENSE"):
            continue
        for item in feedparser.parse(str(path)).entries:
            if item.get("title"):
                titles.append(" ".join(html.unescape(_TAG_RE.sub(" ", item["title"])).split()))
            raw = "\n\n".join(
                [item.get("summary", ""), *(c.value for c in item.get("content", []))]
            )
            passages.extend(_paragraphs(raw))
    for name in ("dev.jsonl", "dev_names.jsonl"):
        path = NEWS_EVAL / name
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            obj = json.loads(line)
            if obj.get("title"):
                titles.append(obj["title"])
            passages.extend(_paragraphs(obj.get("text", "")) or [obj.get("text", "")])
    passages = list(dict.fromkeys(p for p in passages if p))
    titles = list(dict.fromkeys(t for t in titles if t))
    if not passages or not titles:
        raise SystemExit(f"no real news text under {FEEDS} / {NEWS_EVAL}")
    return titles, passages


def _cut(body: str, limit: int) -> str:
    return body if len(body) <= limit else body[: body.rfind(" ", 0, limit)]


def make_articles(n: int) -> list[tuple[str, str]]:
    """``n`` distinct (title, body) articles, body 2-4 kB of real passages."""
    titles, passages = real_texts()
    rng = random.Random(SEED)
    seen: set[tuple[int, tuple[int, ...]]] = set()
    out: list[tuple[str, str]] = []
    while len(out) < n:
        t = rng.randrange(len(titles))
        target = rng.randint(BODY_MIN, BODY_MAX)
        picked: list[int] = []
        size = 0
        while size < target:
            p = rng.randrange(len(passages))
            if p not in picked:
                picked.append(p)
                size += len(passages[p]) + 2
        key = (t, tuple(picked))
        if key in seen:
            continue
        seen.add(key)
        body = _cut("\n\n".join(passages[p] for p in picked), BODY_MAX)
        out.append((titles[t], body))
    return out


def unseen_articles() -> list[tuple[str, str]]:
    """Every real passage exactly once, grouped into articles of 2-4 kB with real titles."""
    titles, passages = real_texts()
    rng = random.Random(SEED + 1)
    out: list[tuple[str, str]] = []
    body: list[str] = []
    target = rng.randint(BODY_MIN, BODY_MAX)
    for p in passages:
        body.append(p)
        if sum(len(b) + 2 for b in body) >= target:
            out.append((titles[len(out) % len(titles)], _cut("\n\n".join(body), BODY_MAX)))
            body, target = [], rng.randint(BODY_MIN, BODY_MAX)
    if body:
        out.append((titles[len(out) % len(titles)], "\n\n".join(body)))
    return out
