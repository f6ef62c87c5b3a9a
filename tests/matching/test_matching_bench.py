"""bench/matching.py runs end to end (``--quick``) and prints every figure issue 12 asks for,
beside its targets: fresh, warm, unseen words, cold, the Aho-Corasick floor and naive scan."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from bench.matching_data import OFAC_SDN, make_articles, unseen_articles
from tests.support.paths import REPO


def test_articles_are_distinct_real_text_of_the_asked_length() -> None:
    if not OFAC_SDN.parent.parent.parent.joinpath("feeds/real").is_dir():
        pytest.skip("shared real news data not available")
    articles = make_articles(200)
    assert len(set(articles)) == 200
    assert all(1_900 <= len(body) <= 4_000 and title for title, body in articles)
    unseen = unseen_articles()
    bodies = [b for _t, b in unseen]
    # every passage once: no paragraph repeats across the unseen articles
    paragraphs = [p for b in bodies for p in b.split("\n\n")]
    assert len(paragraphs) == len(set(paragraphs)) and len(unseen) >= 20


def test_quick_run_prints_figures_and_targets() -> None:
    if not OFAC_SDN.exists():
        pytest.skip("OFAC SDN data not available")
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "matching.py"), "--quick", "--articles", "12"],
        capture_output=True, text=True, timeout=120, check=False, cwd=REPO,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    fresh = re.search(r"fresh ([\d,]+) art/s \(([\d.]+) ms/art\); warm ([\d,]+) art/s", out)
    assert fresh, out
    assert float(fresh.group(2)) > 0 and int(fresh.group(3).replace(",", "")) > 0
    assert re.search(r"unseen words: first pass [\d.]+ ms/art, second [\d.]+ ms/art", out)
    assert re.search(r"Aho-Corasick floor [\d,]+ art/s: matcher [\d.]+x slower", out)
    assert re.search(r"naive scan [\d,]+ ms/art: matcher [\d,]+x faster", out)
    assert re.search(r"cached load [\d.]+ s; cold first article \d+ ms", out)
    assert ">= 2,000 art/s fresh" in out and "within 10x AC" in out and "fresh <= 2x warm" in out
