"""Captured real feeds (Guardian, heise, TPM, UOL, GB2312 news...) raise no alert with the
default watchlists and rules: the multilingual vocabulary must not buy recall with floods."""

from __future__ import annotations

from pathlib import Path

import pytest

from sanctionwatch.ingest.parse import parse
from sanctionwatch.runtime import build_engine

REPO = Path(__file__).resolve().parents[2]
REAL = sorted(
    p
    for p in (REPO / "tests" / "fixtures" / "feeds" / "real").iterdir()
    if p.suffix != ".node-feedparser" and not p.name.startswith("LICENSE")
)


@pytest.fixture(scope="module")
def engine():  # type: ignore[no-untyped-def]
    return build_engine(REPO / "watchlists", REPO / "rules")


@pytest.mark.parametrize("path", REAL, ids=[p.name for p in REAL])
def test_real_feed_items_raise_no_alert(engine, path: Path) -> None:  # type: ignore[no-untyped-def]
    items = parse(path.read_bytes(), path.name).items
    assert items
    fired = []
    for item in items:
        alerts = engine.evaluate(engine.match(item.title, item.text), "#alerts")
        fired.extend((item.title, a.rule) for a in alerts)
    assert fired == []
