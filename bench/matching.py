"""Matcher benchmark: build time, articles/s, peak memory, naive baseline, recall.

    python bench/matching.py                 # 1k, 10k, 100k, 1M names, 2000 articles
    python bench/matching.py --quick         # 1k and 10k names, 300 articles
    python bench/matching.py --sizes 1000,50000 --articles 500

Names: the real OFAC SDN list beside the repo (sdn.csv + alt.csv; "SURNAME, Given" also
as "Given SURNAME"), then synthetic names built from its words and random syllables.
Articles: synthetic news (title + 1-2 kB) with a few real names in variant spellings.
Each size runs in its own subprocess so its peak memory (ru_maxrss) is its own.

The naive baseline is rapidfuzz ``fuzz.partial_ratio`` of every name against every
article (threshold ``BASELINE_THRESHOLD``), timed on a sample of names and articles and
extrapolated per article to the full name count.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from rapidfuzz import fuzz, utils

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sanctionwatch.matching.matcher import Matcher  # noqa: E402
from sanctionwatch.models import Entry  # noqa: E402
from tests.matching.test_variants import load_variants  # noqa: E402

OFAC = ROOT.parent / "shared" / "data" / "sanctions" / "ofac"
for _candidate in (ROOT / "shared", Path("/work/shared")):
    if (_candidate / "data/sanctions/ofac/sdn.csv").exists():
        OFAC = _candidate / "data/sanctions/ofac"
        break
SIZES = (1_000, 10_000, 100_000, 1_000_000)
QUICK_SIZES = (1_000, 10_000)
BASELINE_THRESHOLD = 90  # partial_ratio >= 90: the usual "naive screening" cut-off
BASELINE_NAMES = 3_000  # names timed per baseline article (then extrapolated)
BASELINE_ARTICLES = 3
SEED = 20240503
SYNTHETIC_WORD_POOL = 200_000

FILLER = (
    "the of and to in a is that for on with as was by at from officials said report "
    "government ministry week new according statement sanctions shipment port cargo "
    "missile artillery shells deliveries military talks agreement trade economic "
    "analysts satellite images showed vessel container train border summit leader "
    "defence minister foreign press conference council security united nations "
    "investigation company bank payments transfer network evasion customs export"
).split()


def ofac_entries() -> list[Entry]:
    """Minimal parse of OFAC's legacy CSV: ent_num, name, type; aliases from alt.csv."""
    sdn, alt = OFAC / "sdn.csv", OFAC / "alt.csv"
    if not sdn.exists():
        return []
    aliases: dict[str, list[str]] = {}
    if alt.exists():
        with alt.open(encoding="latin-1", newline="") as fh:
            for row in csv.reader(fh):
                if len(row) >= 4:
                    aliases.setdefault(row[0], []).append(row[3])
    out = []
    with sdn.open(encoding="latin-1", newline="") as fh:
        for row in csv.reader(fh):
            if len(row) < 3 or not row[0].strip().isdigit():
                continue
            names = [row[1], *aliases.get(row[0], [])]
            flipped = []
            for n in names:
                if ", " in n:
                    surname, given = n.split(", ", 1)
                    flipped.append(f"{given} {surname}")
            all_names = list(dict.fromkeys(names + flipped))
            kind = "person" if "individual" in row[2] else "organisation"
            out.append(Entry(f"ofac:{row[0]}", all_names[0], kind, "ofac", tuple(all_names[1:])))
    return out


def _syllable_word(rng: random.Random) -> str:
    cons, vows = "bcdfghjklmnprstvz", "aeiou"
    return "".join(rng.choice(cons) + rng.choice(vows) for _ in range(rng.randint(2, 4)))


def entries_for(size: int, real: list[Entry]) -> Iterator[Entry]:
    """``size`` names: real OFAC entries first, then synthetic one-name entries."""
    count = 0
    for e in real:
        if count >= size:
            return
        keep = e.names[: size - count]
        yield Entry(e.id, keep[0], e.type, e.list, tuple(keep[1:]))
        count += len(keep)
    words = [w for e in real for n in e.names for w in n.replace(",", " ").split() if len(w) > 2]
    rng = random.Random(SEED)
    # Real big lists reuse words (a million OpenSanctions names have a few hundred thousand
    # distinct words), so synthetic names draw from a bounded pool of invented words.
    pool = [_syllable_word(rng).capitalize() for _ in range(SYNTHETIC_WORD_POOL)]
    i = 0
    while count < size:
        parts = [
            rng.choice(words) if rng.random() < 0.5 else rng.choice(pool)
            for _ in range(rng.randint(2, 3))
        ]
        i += 1
        yield Entry(f"syn:{i}", " ".join(parts), "person", "synthetic")
        count += 1


def make_articles(n: int, real: list[Entry]) -> list[str]:
    rng = random.Random(SEED + 1)
    _entries, cases = load_variants()
    mentions = [c.text for c in cases if c.must_match]
    people = [e.names[-1] for e in real[:5000]] or ["Kim Jong Un"]
    out = []
    for _ in range(n):
        title = " ".join(rng.choice(FILLER) for _ in range(10)).capitalize()
        body: list[str] = []
        while sum(len(w) + 1 for w in body) < rng.randint(1000, 2000):
            r = rng.random()
            if r < 0.01:
                body.append(rng.choice(mentions))
            elif r < 0.015:
                body.append(rng.choice(people))
            elif r < 0.1:
                body.append(_syllable_word(rng))
            else:
                body.append(rng.choice(FILLER))
        out.append(f"{title}\n{' '.join(body)}")
    return out


def baseline_hits(names: list[str], text: str) -> list[str]:
    """The naive screen: every name against the whole text with partial_ratio."""
    processed = utils.default_process(text)
    return [
        n
        for n in names
        if fuzz.partial_ratio(utils.default_process(n), processed) >= BASELINE_THRESHOLD
    ]


def recall_figures() -> dict[str, float]:
    entries, cases = load_variants()
    matcher = Matcher.build(entries)
    by_id = {e.id: e for e in entries}
    res = {"tp": 0, "fn": 0, "fp": 0, "btp": 0, "bfn": 0, "bfp": 0}
    for c in cases:
        ours = any(m.entity_id == c.entity_id and m.score >= 88 for m in matcher.find(c.text))
        base = bool(baseline_hits(list(by_id[c.entity_id].names), c.text))
        if c.must_match:
            res["tp" if ours else "fn"] += 1
            res["btp" if base else "bfn"] += 1
        else:
            res["fp"] += ours
            res["bfp"] += base
    return {
        "recall": res["tp"] / (res["tp"] + res["fn"]),
        "precision": res["tp"] / max(1, res["tp"] + res["fp"]),
        "lookalike_hits": res["fp"],
        "baseline_recall": res["btp"] / (res["btp"] + res["bfn"]),
        "baseline_precision": res["btp"] / max(1, res["btp"] + res["bfp"]),
        "baseline_lookalike_hits": res["bfp"],
    }


def run_size(size: int, n_articles: int) -> dict[str, float]:
    """One size, in this (child) process."""
    real = ofac_entries()
    articles = make_articles(n_articles, real)
    t0 = time.perf_counter()
    matcher = Matcher.build(entries_for(size, real))
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    n_matches = 0
    for art in articles:
        title, _, body = art.partition("\n")
        n_matches += len(matcher.find(title, "title")) + len(matcher.find(body, "text"))
    match_s = time.perf_counter() - t0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cache = Path(f"/tmp/sanctionwatch-bench-{size}.pickle")  # noqa: S108 - bench scratch
    matcher.save(cache)
    t0 = time.perf_counter()
    Matcher.load(cache)
    load_s = time.perf_counter() - t0
    cache.unlink()
    sample_names = [n for e in entries_for(min(size, BASELINE_NAMES), real) for n in e.names]
    t0 = time.perf_counter()
    for art in articles[:BASELINE_ARTICLES]:
        baseline_hits(sample_names, art)
    per_name = (time.perf_counter() - t0) / (BASELINE_ARTICLES * len(sample_names))
    baseline_ms = per_name * len(matcher) * 1000
    return {
        "names": len(matcher),
        "build_s": build_s,
        "load_s": load_s,
        "articles_per_s": n_articles / match_s,
        "ms_per_article": match_s / n_articles * 1000,
        "matches_per_article": n_matches / n_articles,
        "peak_rss_mb": rss_mb,
        "baseline_ms_per_article": baseline_ms,
        "speedup": baseline_ms / (match_s / n_articles * 1000),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--sizes", help="comma-separated name counts (default 1k,10k,100k,1M)")
    p.add_argument("--articles", type=int, help="articles to match per size (default 2000)")
    p.add_argument("--quick", action="store_true", help="1k and 10k names, 300 articles")
    p.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    n_articles = args.articles or (300 if args.quick else 2000)
    if args.child:
        print(json.dumps(run_size(args.child, n_articles)))
        return 0
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else None
    sizes = sizes or list(QUICK_SIZES if args.quick else SIZES)
    out = sys.stdout
    out.write(f"OFAC data: {OFAC} ({'found' if (OFAC / 'sdn.csv').exists() else 'missing'})\n")
    out.write(f"articles per size: {n_articles} (title + 1-2 kB), one core\n\n")
    head = (
        f"{'names':>9} {'build s':>8} {'load s':>7} {'art/s':>8} {'ms/art':>7} "
        f"{'peak MB':>8} {'naive ms/art':>13} {'speed-up':>9}\n"
    )
    out.write(head)
    for size in sizes:
        cmd = [sys.executable, __file__, "--child", str(size), "--articles", str(n_articles)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            out.write(f"{size:>9} failed: {proc.stderr.strip()[-500:]}\n")
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        out.write(
            f"{r['names']:>9,} {r['build_s']:>8.2f} {r['load_s']:>7.2f} "
            f"{r['articles_per_s']:>8.0f} {r['ms_per_article']:>7.2f} {r['peak_rss_mb']:>8.0f} "
            f"{r['baseline_ms_per_article']:>13.0f} {r['speedup']:>8.0f}x\n"
        )
        out.flush()
    rec = recall_figures()
    out.write(
        f"\nvariant set: matcher recall {rec['recall']:.3f} precision {rec['precision']:.3f} "
        f"look-alike hits {rec['lookalike_hits']}\n"
        f"             naive partial_ratio>={BASELINE_THRESHOLD} recall "
        f"{rec['baseline_recall']:.3f} precision {rec['baseline_precision']:.3f} "
        f"look-alike hits {rec['baseline_lookalike_hits']}\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
