"""Polling benchmark: N synthetic feeds of M items on loopback, one full cycle through the
real pipeline (fetch → parse → match → SQLite → dry-run delivery), then a second cycle over
the unchanged feeds, which must cost only 304s (no parsing, no matching).

    python bench/polling.py                 # 2,000 feeds × 50 items (issue 12's targets)
    python bench/polling.py --quick         # 200 feeds × 20 items, a few seconds
    python bench/polling.py --feeds 500 --items 50 --hosts 50

Polls of 2,000 feeds parse, match and evaluate rules in worker processes
(`sanctionwatch.alerting.workers`); parse/match counts come from the pipeline's per-feed outcomes, and
the workers' CPU time and memory are sampled from /proc.

The feed server runs in its own process (asyncio, pre-built bodies, keep-alive, ETag/304) so
it does not share the GIL with the poller. Feeds are spread over many loopback addresses
(127.77.x.y, all routed to `lo` on Linux) so the per-host politeness limit applies as it would
on the internet. Baselines measured in the same run: a plain sequential urllib3 fetch-only loop
over every feed (the transfer floor), feedparser alone on 100 of the first cycle's
documents (the parsing floor: CPU time, extrapolated to every feed and spread over the
cores), and the same pipeline with one worker on a subset, extrapolated.

A third cycle is the steady state: every document changed (new ETag and lastBuildDate) and
5% of all items are new, carried by a quarter of the feeds; the other documents bring
nothing new: half of them re-date their items, which the pre-scan
(`sanctionwatch.ingest.prescan`) sees without feedparser, half only their lastBuildDate, which
the entries hash (`sanctionwatch.ingest.samedoc`) sees without a worker (`--restamped`).
All three cycles share one warm worker pool, as `run`/`serve` do. Exit status 1 if a
target is missed (at 2,000 × 50: first cycle over 20 s, steady cycle over 5 s), or if any
cycle records the wrong items, or the 304 cycle parses or matches anything.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import multiprocessing as mp
import os
import random
import resource
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import httpx
import urllib3

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sanctionwatch.alerting import pipeline  # noqa: E402
from sanctionwatch.config.settings import Settings, load_settings  # noqa: E402
from sanctionwatch.ingest.parse import run_feedparser  # noqa: E402
from sanctionwatch.ingest.xmlsafe import defuse  # noqa: E402
from sanctionwatch.runtime import engine_cache  # noqa: E402
from sanctionwatch.slack.dryrun import DryRunPoster
from sanctionwatch.storage.db import Store  # noqa: E402

TARGET_FIRST_S = 20.0  # issue 12: 2,000 feeds × 50 items, all new, on 2 cores
TARGET_STEADY_S = 5.0  # issue 12: the same feeds, every document changed, 5% of items new
STEADY_NEW_SHARE = 0.05  # share of all items that are new in the steady-state cycle
# Share of feeds whose changed document carries those new items (10 of 50 each). Of the
# others, STEADY_RESTAMPED_SHARE re-date every item (feeds that stamp their items with the
# time they were built: only the pre-scan sees that nothing is new); the rest changed only
# their lastBuildDate, as rebuilt channels do (the entries hash sees that, `ingest.samedoc`).
STEADY_WITH_NEW_SHARE = 0.25
STEADY_RESTAMPED_SHARE = 0.5
DEFAULT_FEEDS = 2000
DEFAULT_ITEMS = 50
DEFAULT_HOSTS = 200  # 10 feeds per host: per-host politeness is exercised, not dominant
QUICK = (200, 20, 40)  # feeds, items, hosts
BASELINE_SUBSET = 100  # feeds polled with one worker for the sequential baseline
PARSER_FLOOR_DOCS = 100  # documents feedparser parses alone for the first cycle's floor
ALERT_EVERY = 250  # one item in this many carries a real DPRK–Russia arms story
SEED = 20261128
LOOPBACK_PREFIX = "127.77"  # 127.0.0.0/8 is all loopback on Linux
SERVER_START_TIMEOUT_S = 60.0
RSS_SAMPLE_S = 0.2  # memory sampling period for poller + workers

WORDS = (
    "the government said on monday that negotiators and officials over trade budget energy prices "
    "would continue next week amid growing concern in parliament about inflation and economy "
    "while markets rose after central bank minister announced plans for new housing rail port "
    "football festival exhibition ruling election campaign vote coalition harvest weather storm"
).split()
LOOKALIKE_EVERY = 4  # about a quarter of real news items match some watchlist entry (measured
# on the captured feeds in ../shared/data/feeds/real: 69 of 264)
LOOKALIKE_SENTENCE = (
    "South Korea's chip exports rose, Seoul said, as the Wagner opera festival opened and a "
    "court weighed a fine on a museum."
)
ALERT_SENTENCE = (
    "North Korea has shipped artillery shells and KN-23 ballistic missiles to Russia, "
    "officials in Seoul said."
)


# Filler: everyday news words that match nothing. Look-alikes that the matcher sees but the
# rules must not alert on come in LOOKALIKE_SENTENCE; alerts come only from ALERT_SENTENCE
# (random word soup of "Wagner", "shell", "exports" would fire a real rule).
# --------------------------------------------------------------------------- feed server


def build_items(
    n_feeds: int, n_items: int, seed: int, now: datetime, tag: str = "item"
) -> list[list[str]]:
    """Deterministic RSS items per feed, dated just before ``now`` (inside the backfill
    window). ``tag`` makes the guids of a later generation distinct from the first one's."""
    rnd = random.Random(f"{seed}-{tag}")

    def sentence(n: int) -> str:
        return " ".join(rnd.choice(WORDS) for _ in range(n)).capitalize() + "."

    feeds = []
    serial = 0
    for f in range(n_feeds):
        items = []
        for i in range(n_items):
            serial += 1
            text = " ".join(sentence(15) for _ in range(4))
            if serial % ALERT_EVERY == 0:
                text = ALERT_SENTENCE + " " + text
            elif serial % LOOKALIKE_EVERY == 0:
                text = LOOKALIKE_SENTENCE + " " + text
            when = now - timedelta(minutes=10 + i)
            items.append(
                f"<item><title>{escape(sentence(10))}</title>"
                f"<link>https://feed{f}.example.org/{tag}/{i}</link>"
                f'<guid isPermaLink="false">feed{f}-{tag}{i}</guid>'
                f"<pubDate>{format_datetime(when, usegmt=True)}</pubDate>"
                f"<description>{escape(text)}</description></item>"
            )
        feeds.append(items)
    return feeds


def assemble(f: int, items: Sequence[str], built: datetime) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        f"<title>Synthetic feed {f}</title><link>https://feed{f}.example.org/</link>"
        f"<description>benchmark</description>"
        f"<lastBuildDate>{format_datetime(built, usegmt=True)}</lastBuildDate>"
        + "".join(items)
        + "</channel></rss>"
    ).encode("utf-8")


def build_bodies(n_feeds: int, n_items: int, seed: int, built: datetime) -> list[bytes]:
    """The first generation, built at ``built``: every item new to the poller."""
    feeds = build_items(n_feeds, n_items, seed, built)
    return [assemble(f, items, built) for f, items in enumerate(feeds)]


def steady_bodies(
    n_feeds: int, n_items: int, seed: int, first: datetime, new_share: float,
    with_new_share: float, restamped_share: float = STEADY_RESTAMPED_SHARE,
) -> tuple[list[bytes], int]:  # fmt: skip
    """The steady-state generation, 15 minutes after the first one (built at ``first``):
    every document changed (new ETag, new lastBuildDate); ``with_new_share`` of the feeds put
    new items on top (dropping as many old ones), so that ``new_share`` of all items are new;
    of the others, ``restamped_share`` carry the items already seen with new dates, the rest
    carry them byte for byte. Returns (bodies, new items in them)."""
    built = first + timedelta(minutes=15)
    old = build_items(n_feeds, n_items, seed, first)
    restamped = build_items(n_feeds, n_items, seed, built)  # same guids and texts, new dates
    every = max(1, round(1 / with_new_share)) if with_new_share > 0 else 0
    n_changed = len(range(0, n_feeds, every)) if every else 0
    per_feed = min(n_items, round(n_feeds * n_items * new_share / n_changed)) if n_changed else 0
    fresh = build_items(n_feeds, per_feed, seed, built, tag="new")
    bodies, added, unchanged = [], 0, 0
    for f in range(n_feeds):
        items = old[f]
        if every and f % every == 0 and per_feed:
            items = fresh[f] + items[: n_items - per_feed]
            added += per_feed
        else:
            unchanged += 1
            if (unchanged * restamped_share) % 1 < restamped_share:
                items = restamped[f]
        bodies.append(assemble(f, items, built))
    return bodies, added


def _serve(
    n_feeds: int, n_items: int, n_hosts: int, seed: int, steady: tuple[float, float, float],
    conn: Connection,
) -> None:  # fmt: skip
    """Server process: bind one socket per loopback host, report the ports, serve forever.
    ``GET /control/steady`` switches every feed to its steady-state generation (new ETags)
    and answers with the number of new items in it."""
    first = datetime.now(UTC)
    bodies = build_bodies(n_feeds, n_items, seed, first)
    etags = [f'"{seed}-{i}"'.encode() for i in range(n_feeds)]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await reader.readline()
                if not request:
                    break
                inm = b""
                while True:
                    line = await reader.readline()
                    if line in (b"\r\n", b"\n", b""):
                        break
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"if-none-match":
                        inm = value.strip()
                path = request.split(b" ")[1] if b" " in request else b"/"
                if path == b"/control/steady":
                    new_bodies, added = steady_bodies(n_feeds, n_items, seed, first, *steady)
                    bodies[:] = new_bodies
                    etags[:] = [f'"{seed}-steady-{i}"'.encode() for i in range(n_feeds)]
                    answer = str(added).encode()
                    writer.write(
                        b"HTTP/1.1 200 OK\r\nContent-Length: " + str(len(answer)).encode()
                        + b"\r\n\r\n" + answer
                    )  # fmt: skip
                    await writer.drain()
                    continue
                try:
                    idx = int(path.rsplit(b"/", 1)[-1].split(b".")[0])
                    body, etag = bodies[idx], etags[idx]
                except (ValueError, IndexError):
                    writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                    continue
                if inm == etag:
                    writer.write(b"HTTP/1.1 304 Not Modified\r\nETag: " + etag + b"\r\n\r\n")
                else:
                    writer.write(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml; charset=utf-8"
                        b"\r\nETag: " + etag + b"\r\nContent-Length: "
                        + str(len(body)).encode() + b"\r\n\r\n" + body
                    )  # fmt: skip
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        ports = []
        servers = []
        for h in range(n_hosts):
            host = host_address(h)
            server = await asyncio.start_server(handle, host, 0, backlog=1024)
            servers.append(server)
            ports.append(server.sockets[0].getsockname()[1])
        conn.send(ports)
        await asyncio.Event().wait()

    asyncio.run(main())


def host_address(h: int) -> str:
    return f"{LOOPBACK_PREFIX}.{h // 250}.{h % 250 + 1}"


@dataclass
class FeedServerProcess:
    process: Any  # a multiprocessing Process (fork context)
    urls: list[str]
    control: str  # base URL of the control endpoint

    def go_steady(self) -> int:
        """Switch to the steady-state documents; the number of new items in them."""
        answer = httpx.get(self.control + "/control/steady", timeout=300)
        answer.raise_for_status()
        return int(answer.text)

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(timeout=10)


def start_server(
    n_feeds: int, n_items: int, n_hosts: int, steady: tuple[float, float, float]
) -> FeedServerProcess:
    parent, child = mp.Pipe()
    proc = mp.get_context("fork").Process(
        target=_serve, args=(n_feeds, n_items, n_hosts, SEED, steady, child), daemon=True
    )
    proc.start()
    if not parent.poll(SERVER_START_TIMEOUT_S):
        proc.terminate()
        raise SystemExit("feed server did not start")
    ports: list[int] = parent.recv()
    urls = [
        f"http://{host_address(i % n_hosts)}:{ports[i % n_hosts]}/feed/{i}.xml"
        for i in range(n_feeds)
    ]
    return FeedServerProcess(proc, urls, f"http://{host_address(0)}:{ports[0]}")


# --------------------------------------------------------------------------- instrumentation


class MemorySampler:
    """Peak resident memory of the poller and its analysis workers together, and the
    workers' CPU time, sampled from /proc (ru_maxrss and RUSAGE_CHILDREN do not cover
    forkserver workers: they are children of the fork server, not of the poller)."""

    def __init__(self, exclude: set[int], interval_s: float = RSS_SAMPLE_S) -> None:
        self.exclude = exclude
        self.interval_s = interval_s
        self.peak_total_kib = 0
        self.peak_workers = 0
        self.cpu_ticks: dict[int, int] = {}  # descendant pid → last seen utime+stime
        self._ticks_before: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemorySampler:
        # long-lived helpers (fork server, resource tracker) count from now on only
        self._ticks_before = {
            pid: _cpu_ticks(pid) for pid in _descendants(os.getpid()) if pid not in self.exclude
        }
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak_total_mib(self) -> float:
        return self.peak_total_kib / 1024

    @property
    def workers_cpu_s(self) -> float:
        used = sum(t - self._ticks_before.get(pid, 0) for pid, t in self.cpu_ticks.items())
        return used / os.sysconf("SC_CLK_TCK")

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            pids = [p for p in _descendants(os.getpid()) if p not in self.exclude]
            total = _rss_kib(os.getpid()) + sum(_rss_kib(p) for p in pids)
            self.peak_total_kib = max(self.peak_total_kib, total)
            self.peak_workers = max(self.peak_workers, len(pids))
            for pid in pids:
                self.cpu_ticks[pid] = max(self.cpu_ticks.get(pid, 0), _cpu_ticks(pid))


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    todo = [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*/children"):
            try:
                kids = [int(x) for x in task.read_text().split()]
            except OSError:
                continue
            found.extend(kids)
            todo.extend(kids)
    return found


def _cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)


def _rss_kib(pid: int) -> int:
    """Proportional set size (shared pages split between the processes sharing them; the
    workers share most of theirs with the fork server), else plain RSS."""
    for path, key in ((f"/proc/{pid}/smaps_rollup", "Pss:"), (f"/proc/{pid}/status", "VmRSS:")):
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(key):
                    return int(line.split()[1])
        except OSError:
            continue
    return 0


# --------------------------------------------------------------------------- measurements


def write_config(folder: Path, urls: Sequence[str], workers: int | None) -> Path:
    lines = ['database = "bench.db"', "[slack]", 'default_channel = "#bench"']
    if workers is not None:
        lines += ["[poll]", f"max_workers = {workers}"]
    for i, url in enumerate(urls):
        lines += ["[[feeds]]", f'name = "feed-{i:05d}"', f'url = "{url}"']
    path = folder / "bench.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass
class CycleFigures:
    seconds: float
    cpu_seconds: float  # the poller process's user+system time (the feed server excluded)
    feeds: int
    failed: int
    new_items: int
    alerts: int
    delivered: int
    parses: int
    prescanned: int
    same_entries: int  # documents whose entries hash was the one recorded (ingest.samedoc)
    matches: int
    statuses: dict[int | None, int]


def _cpu_s() -> float:
    """CPU time (user + system) of this process; workers are counted by MemorySampler."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def run_one_cycle(
    settings: Settings,
    store: Store,
    engine_for: Callable[[], Any],
    sink: io.StringIO,
    processes: bool | None = None,
    warm: pipeline.WarmPool | None = None,
) -> CycleFigures:
    cpu_started = _cpu_s()
    started = time.perf_counter()
    report = pipeline.run_cycle(
        settings,
        store,
        engine_for,
        DryRunPoster(sink),
        all_feeds=True,
        processes=processes,
        warm=warm,
    )
    seconds = time.perf_counter() - started
    cpu_seconds = _cpu_s() - cpu_started
    statuses: dict[int | None, int] = {}
    for f in report.feeds:
        statuses[f.status] = statuses.get(f.status, 0) + 1
    return CycleFigures(
        seconds=seconds,
        cpu_seconds=cpu_seconds,
        feeds=len(report.feeds),
        failed=len(report.failed_feeds),
        new_items=sum(f.new_items for f in report.feeds),
        alerts=sum(f.alerts for f in report.feeds),
        delivered=report.delivered,
        parses=sum(f.parsed for f in report.feeds),
        prescanned=sum(f.prescanned for f in report.feeds),
        same_entries=sum(f.same_entries for f in report.feeds),
        matches=sum(f.matched for f in report.feeds),
        statuses=statuses,
    )


def pipeline_setup(
    folder: Path, urls: Sequence[str], workers: int | None
) -> tuple[Settings, Store, Callable[[], Any]]:
    folder.mkdir(parents=True, exist_ok=True)
    settings = load_settings(str(write_config(folder, urls, workers)), env={})
    settings = replace(settings, slack=replace(settings.slack, token=None))
    store = Store(settings.database)
    cache = engine_cache(settings.watchlists, settings.rules)
    cache.get(store.db)  # built once, outside the timed cycle
    return settings, store, lambda: cache.get(store.db)


def fetch_only_baseline(urls: Sequence[str]) -> float:
    """Plain urllib3 (the library under fetch()), one pooled client, sequential GETs with
    no guard, deadline or cap: the transfer floor."""
    started = time.perf_counter()
    with urllib3.PoolManager(num_pools=len(urls)) as client:
        for url in urls:
            answer = client.request("GET", url, timeout=30, retries=False)
            if answer.status != 200:
                raise SystemExit(f"baseline fetch of {url} answered {answer.status}")
    return time.perf_counter() - started


def parser_floor(n_docs: int, n_items: int) -> float:
    """CPU seconds feedparser alone spends on one first-generation document (the mean over
    ``n_docs`` of them), run as every parse runs it: what a first cycle cannot go below."""
    bodies = build_bodies(
        n_docs, n_items, SEED, datetime.now(UTC)
    )  # the same documents the server's first n hold
    headers = {"content-type": "application/rss+xml; charset=utf-8"}
    started = time.process_time()
    for body in bodies:
        run_feedparser(defuse(body, headers["content-type"])[0], headers)
    return (time.process_time() - started) / len(bodies)


def max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def db_size_mib(path: Path) -> float:
    total = 0
    for suffix in ("", "-wal"):
        p = path.with_name(path.name + suffix)
        total += p.stat().st_size if p.exists() else 0
    return total / (1024 * 1024)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=DEFAULT_FEEDS)
    parser.add_argument("--items", type=int, default=DEFAULT_ITEMS)
    parser.add_argument("--hosts", type=int, default=DEFAULT_HOSTS)
    parser.add_argument("--workers", type=int, default=None, help="poll.max_workers override")
    parser.add_argument("--baseline-subset", type=int, default=BASELINE_SUBSET)
    parser.add_argument("--quick", action="store_true", help="200 feeds × 20 items")
    parser.add_argument(
        "--restamped",
        type=float,
        default=STEADY_RESTAMPED_SHARE,
        help="share of the steady cycle's documents without new items that re-date their items"
        f" (default {STEADY_RESTAMPED_SHARE}; 1: none is seen by the entries hash)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.feeds, args.items, args.hosts = QUICK
    args.hosts = max(1, min(args.hosts, args.feeds))

    out = sys.stdout
    print(
        f"polling benchmark: {args.feeds} feeds × {args.items} items on {args.hosts} loopback"
        f" hosts, {mp.cpu_count()} CPUs, Python {sys.version.split()[0]},"
        f" load average before {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        file=out,
    )
    t0 = time.perf_counter()
    steady = (STEADY_NEW_SHARE, STEADY_WITH_NEW_SHARE, args.restamped)
    server = start_server(args.feeds, args.items, args.hosts, steady)
    print(f"  feed server ready in {time.perf_counter() - t0:.1f}s (own process)", file=out)
    ok = True
    try:
        with tempfile.TemporaryDirectory(prefix="sw-bench-") as tmp:
            base = Path(tmp)
            rss_before = max_rss_mib()
            floor_s = fetch_only_baseline(server.urls)
            parse_each_s = parser_floor(min(PARSER_FLOOR_DOCS, args.feeds), args.items)
            settings, store, engine_for = pipeline_setup(base / "main", server.urls, args.workers)
            sink = io.StringIO()
            exclude = {server.process.pid}
            # as `run`/`serve` do: one pool of workers for every cycle
            warm = pipeline.WarmPool(store.path)
            try:
                with MemorySampler(exclude) as mem1:
                    first = run_one_cycle(settings, store, engine_for, sink, warm=warm)
                with MemorySampler(exclude) as mem2:
                    second = run_one_cycle(settings, store, engine_for, sink, warm=warm)
                steady_new = server.go_steady()
                with MemorySampler(exclude) as mem3:
                    third = run_one_cycle(settings, store, engine_for, sink, warm=warm)
            finally:
                warm.close()
            peak = max_rss_mib()
            items_in_db = (
                sqlite3.connect(settings.database)
                .execute("SELECT count(*) FROM items")
                .fetchone()[0]
            )
            db_mib = db_size_mib(settings.database)
            store.close()
            subset = server.urls[: max(1, min(args.baseline_subset, args.feeds))]
            s_settings, s_store, s_engine = pipeline_setup(base / "seq", subset, 1)
            seq = run_one_cycle(s_settings, s_store, s_engine, io.StringIO(), processes=False)
            s_store.close()
    finally:
        server.stop()

    expected_items = args.feeds * args.items
    seq_extrapolated = seq.seconds * args.feeds / len(subset)
    print(
        f"cycle 1 (all new): {first.seconds:.1f}s (poller CPU {first.cpu_seconds:.1f}s"
        f" + {mem1.peak_workers} worker processes CPU ≈{mem1.workers_cpu_s:.1f}s)"
        f" for {first.feeds} feeds,"
        f" {first.new_items} new items ({first.new_items / first.seconds:.0f} items/s,"
        f" {first.feeds / first.seconds:.0f} feeds/s), parses={first.parses}"
        f" matches={first.matches} alerts={first.alerts} delivered={first.delivered}"
        f" failed={first.failed} statuses={first.statuses}",
        file=out,
    )
    print(
        f"cycle 2 (unchanged): {second.seconds:.1f}s (poller CPU {second.cpu_seconds:.1f}s"
        f" + workers ≈{mem2.workers_cpu_s:.1f}s),"
        f" statuses={second.statuses},"
        f" parses={second.parses} matches={second.matches} new_items={second.new_items}",
        file=out,
    )
    print(
        f"cycle 3 (steady state: every document changed, {STEADY_NEW_SHARE:.0%} of items new"
        f" in {STEADY_WITH_NEW_SHARE:.0%} of the feeds, {args.restamped:.0%} of the others"
        f" re-dated): {third.seconds:.1f}s"
        f" (poller CPU {third.cpu_seconds:.1f}s + workers ≈{mem3.workers_cpu_s:.1f}s),"
        f" statuses={third.statuses}, parses={third.parses}"
        f" skipped by the pre-scan={third.prescanned}"
        f" by the entries hash={third.same_entries} matches={third.matches}"
        f" new_items={third.new_items} alerts={third.alerts} failed={third.failed}",
        file=out,
    )
    print(
        f"peak RSS of the poller: {peak:.0f} MiB (before polling {rss_before:.0f} MiB);"
        f" poller + fork server + workers together (sampled PSS)"
        f" {max(mem1.peak_total_mib, mem2.peak_total_mib, mem3.peak_total_mib):.0f} MiB;"
        f" database {db_mib:.1f} MiB for {items_in_db} items",
        file=out,
    )
    print(
        f"baseline: fetch-only sequential urllib3 loop over all {args.feeds} feeds"
        f" {floor_s:.1f}s (no parsing/matching/storing);"
        f" pipeline in-thread with max_workers=1 on {len(subset)} feeds {seq.seconds:.1f}s"
        f" (CPU {seq.cpu_seconds:.1f}s),"
        f" extrapolated to {args.feeds} feeds {seq_extrapolated:.1f}s"
        f" (speed-up {seq_extrapolated / first.seconds:.1f}×)",
        file=out,
    )
    parse_all_s = parse_each_s * args.feeds
    full = (args.feeds, args.items) == (DEFAULT_FEEDS, DEFAULT_ITEMS)
    print(
        f"floor of cycle 1: feedparser alone {parse_each_s * 1000:.1f} ms CPU per document"
        f" ({min(PARSER_FLOOR_DOCS, args.feeds)} of them), {parse_all_s:.1f}s of CPU for all"
        f" {args.feeds}, {parse_all_s / mp.cpu_count():.1f}s on {mp.cpu_count()} cores before"
        f" any fetching, matching or recording"
        + (f" (target {TARGET_FIRST_S:.0f}s)" if full else ""),
        file=out,
    )
    print(f"load average after {' '.join(f'{x:.2f}' for x in os.getloadavg())}", file=out)
    checks = [
        (first.failed == 0, f"no feed failed (failed={first.failed})"),
        (first.new_items == expected_items, f"all {expected_items} items recorded"),
        (first.alerts > 0 and first.delivered == first.alerts, "alerts queued and delivered"),
        (second.statuses == {304: args.feeds}, "second cycle: every feed answered 304"),
        (second.parses == 0 and second.matches == 0, "second cycle: no parse, no match"),
        (third.failed == 0 and third.statuses == {200: args.feeds}, "steady cycle: all 200"),
        (third.new_items == steady_new, f"steady cycle: the {steady_new} new items recorded"),
        (
            third.prescanned + third.same_entries + third.parses == args.feeds,
            "steady cycle: each document read once",
        ),
        (items_in_db == expected_items + steady_new, "database holds every item once"),
    ]
    if full:  # the targets are for the size; other sizes only report
        checks += [
            (first.seconds <= TARGET_FIRST_S, f"first cycle ≤ {TARGET_FIRST_S:.0f}s"),
            (third.seconds <= TARGET_STEADY_S, f"steady cycle ≤ {TARGET_STEADY_S:.0f}s"),
        ]
    for passed, what in checks:
        print(f"  [{'ok' if passed else 'FAIL'}] {what}", file=out)
        ok = ok and passed
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
