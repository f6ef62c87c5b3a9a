"""bench/polling.py runs end to end on a small size and prints every cycle with its
baselines measured in the same run: the fetch-only floor, feedparser's floor and the
one-worker pipeline; a small run checks that every cycle recorded the right items."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.support.paths import REPO


def test_small_run_checks_its_items_and_prints_the_floors() -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "polling.py"), "--feeds", "60", "--items", "8",
         "--hosts", "6", "--baseline-subset", "10"],
        capture_output=True, text=True, timeout=300, check=False, cwd=REPO,
    )  # fmt: skip
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr[-2000:]
    assert "[FAIL]" not in out
    first = re.search(r"cycle 1 \(all new\): [\d.]+s .* 480 new items", out)
    assert first, out
    assert re.search(r"cycle 2 \(unchanged\): [\d.]+s .*statuses=\{304: 60\}", out)
    steady = re.search(
        r"cycle 3 .*parses=(\d+) skipped by the pre-scan=(\d+) by the entries hash=(\d+)", out
    )
    assert steady and sum(int(n) for n in steady.groups()) == 60, out
    # with the pool (60 feeds), unchanged items are not parsed: re-dated items are seen by the
    # pre-scan, documents that changed only their lastBuildDate by the entries hash
    assert int(steady.group(2)) > 0 and int(steady.group(3)) > 0, out
    floor = re.search(r"feedparser alone ([\d.]+) ms CPU per document \(60 of them\)", out)
    assert floor and float(floor.group(1)) > 0, out
    assert "target" not in out.split("floor of cycle 1:")[1].splitlines()[0]  # not this size
    assert re.search(r"baseline: fetch-only sequential urllib3 loop over all 60 feeds [\d.]+s", out)
    assert "[ok] database holds every item once" in out
