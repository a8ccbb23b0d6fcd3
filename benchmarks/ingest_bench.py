"""Ingest benchmark: Goodwill vs reader vs a sequential feedparser loop, same server, same run.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python -m benchmarks.ingest_bench                  # 1000 feeds x 50 items, 100 ms
    .venv/bin/python -m benchmarks.ingest_bench --feeds 200 --items 20 --skip sequential
    .venv/bin/python -m benchmarks.ingest_bench --repeat 3 --skip sequential  # medians

A local aiohttp feed server (``benchmarks/feedserver.py``) runs in its own process. Each
contender runs in a fresh child process (so its peak RSS is its own) and does two passes: the
first fetches and stores everything, the second finds every feed unchanged (HTTP 304).

* goodwill: ``goodwill.ingest.ingest`` (fetch, parse, normalise, dedupe, store) into a real SQLite
  file, exactly what ``goodwill ingest --no-prefect`` runs.
* reader: ``reader.make_reader(db).update_feeds(workers=N)`` (feedparser inside, SQLite).
* floor: a bare aiohttp + fastfeedparser loop, nothing normalised or stored (the practical floor).
* sequential: ``feedparser.parse(url, etag=, modified=)`` one feed after another, nothing stored
  (what feediverse and feed2toot do).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CONTENDERS = ["goodwill", "floor", "reader", "sequential"]


def _live_children_cpu() -> float:
    """CPU seconds of this process's live child processes and of everything they have reaped
    (Goodwill's parse workers are forked by a forkserver child, which reaps them)."""
    me, tick, total = os.getpid(), os.sysconf("SC_CLK_TCK"), 0.0
    for _, fields in _proc_stats():
        if int(fields[1]) == me:  # ppid; then utime, stime, cutime, cstime at 11..14
            total += sum(int(f) for f in fields[11:15]) / tick
    return total


def _proc_stats() -> Iterator[tuple[int, list[str]]]:
    """Every process's pid and the fields of its ``/proc/<pid>/stat`` after the command name."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        yield int(stat.parent.name), fields


def _usage() -> tuple[float, float]:
    """CPU seconds, counting the contender's worker processes, finished (reaped by this process
    or by a child of it) and live; and this process's peak RSS. (A child's own peak RSS is not
    added: ``ru_maxrss`` of children counts the parent's pages a spawned child held between fork
    and exec.)"""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = ru.ru_utime + ru.ru_stime + kids.ru_utime + kids.ru_stime + _live_children_cpu()
    return cpu, ru.ru_maxrss / 1024


# Whether the kernel lists each thread's children (CONFIG_PROC_CHILDREN): looked up once.
_HAS_CHILDREN_FILES = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").exists()


def _descendants(root: int) -> list[int]:
    """``root`` and every process below it. Read from each thread's ``children`` file, a few
    small reads, where a scan of every process's ``stat`` cost milliseconds of CPU a sample,
    taken from the cores of a contender that keeps both busy (Goodwill's first pass); the scan
    where the kernel has no ``children`` files."""
    if not _HAS_CHILDREN_FILES:
        return _descendants_by_scan(root)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                todo.extend(map(int, Path(f"/proc/{pid}/task/{task}/children").read_text().split()))
        except OSError:  # the process ended meanwhile
            continue
    return found


def _descendants_by_scan(root: int) -> list[int]:
    parent = {pid: int(fields[1]) for pid, fields in _proc_stats()}
    tree = []
    for pid in parent:
        p = pid
        while p and p != root and p in parent:
            p = parent[p]
        if p == root:
            tree.append(pid)
    return tree


def _tree_pss_mb(root: int) -> float:
    """Proportional set size of process ``root`` and all its descendants, in MB: the memory a
    contender holds, counting pages its processes share once (RSS would count them in each)."""
    total_kb = 0
    for pid in _descendants(root):
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        total_kb += next(
            (int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:")), 0
        )
    return total_kb / 1024


class _MemorySampler:
    """The largest ``_tree_pss_mb(root)`` seen, sampled every 100 ms from the driver process
    (so that sampling never competes with the contender for its own interpreter)."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def take_peak(self) -> float:
        """The peak since the last call, and start again."""
        peak, self.peak = self.peak, 0.0
        return max(peak, _tree_pss_mb(self.root))

    def _run(self) -> None:
        while True:
            self.peak = max(self.peak, _tree_pss_mb(self.root))
            if self._stop.wait(0.1):
                return

    def __enter__(self) -> _MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


PASS_END = "#pass-end"


def _timed(fn: Any) -> dict[str, float]:
    cpu0, _ = _usage()
    t0 = time.perf_counter()
    items = fn()
    wall = time.perf_counter() - t0
    cpu1, rss = _usage()
    print(PASS_END, file=sys.stderr, flush=True)  # the driver reads the memory peak now
    return {"wall": wall, "cpu": cpu1 - cpu0, "items": items, "rss_mb": rss}


# --- contenders (each runs in its own child process) ------------------------------------------


def run_goodwill(
    urls: list[str], workdir: Path, concurrency: int, parse_processes: int | None = None
) -> list[dict[str, float]]:
    from dataclasses import replace
    from datetime import UTC, datetime

    import goodwill.ingest
    from goodwill.config import Source, load_config
    from goodwill.events import RecordingSink
    from goodwill.ingest import ingest

    if parse_processes is not None:  # an experiment: the shipped count is the default
        goodwill.ingest.PARSE_PROCESSES = parse_processes
    from goodwill.store import Store

    config_dir = workdir / "config"
    shutil.copytree(ROOT / "config", config_dir)
    config = load_config(config_dir)
    config = replace(
        config,
        sources=[Source(name=f"feed{i}", url=u) for i, u in enumerate(urls)],
        policy=config.policy.model_copy(update={"concurrency": concurrency}),
    )
    store = Store.open("bench", url=f"sqlite:///{workdir / 'goodwill.db'}")
    now = datetime(2026, 11, 2, tzinfo=UTC)
    passes = []
    for _ in range(2):
        passes.append(_timed(lambda: ingest(config, store, now, RecordingSink()).new_items))
    failures = ingest(config, store, now, RecordingSink()).failures
    if failures:
        print(f"goodwill failures: {list(failures.items())[:3]}", file=sys.stderr)
    store.close()
    return passes


def run_floor(urls: list[str], concurrency: int) -> list[dict[str, float]]:
    """The practical floor: aiohttp + fastfeedparser, nothing normalised, nothing stored."""
    import asyncio

    import aiohttp
    import fastfeedparser

    validators: dict[str, str] = {}

    async def one_pass() -> int:
        count = 0
        sem = asyncio.Semaphore(concurrency)
        connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=4)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def get(u: str) -> None:
                nonlocal count
                headers = {"If-None-Match": validators[u]} if u in validators else {}
                async with sem, session.get(u, headers=headers) as response:
                    if response.status == 304:
                        return
                    body = await response.read()
                    validators[u] = response.headers.get("ETag", "")
                count += len(fastfeedparser.parse(body).entries)

            await asyncio.gather(*(get(u) for u in urls))
        return count

    return [_timed(lambda: asyncio.run(one_pass())) for _ in range(2)]


def run_reader(urls: list[str], workdir: Path, workers: int) -> list[dict[str, float]]:
    from reader import make_reader

    r = make_reader(str(workdir / "reader.sqlite"))
    for u in urls:
        r.add_feed(u)
    passes = []
    for _ in range(2):
        before = r.get_entry_counts().total

        def one() -> int:
            r.update_feeds(workers=workers, scheduled=False)
            return r.get_entry_counts().total - before  # noqa: B023

        passes.append(_timed(one))
    r.close()
    return passes


def run_sequential(urls: list[str], workdir: Path) -> list[dict[str, float]]:
    import feedparser

    validators: dict[str, tuple[Any, Any]] = {}
    seen: set[str] = set()
    passes = []
    for _ in range(2):

        def one() -> int:
            new = 0
            for u in urls:
                etag, modified = validators.get(u, (None, None))
                d = feedparser.parse(u, etag=etag, modified=modified)
                validators[u] = (d.get("etag"), d.get("modified"))
                for e in d.entries:
                    key = e.get("id") or e.get("link")
                    if key and key not in seen:
                        seen.add(key)
                        new += 1
            return new

        passes.append(_timed(one))
    return passes


def _child(args: argparse.Namespace) -> None:
    urls = json.loads(Path(args.urls_file).read_text())
    workdir = Path(args.workdir)
    profiler = None
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler()
        profiler.start()
    if args.child == "goodwill":
        out = run_goodwill(urls, workdir, args.concurrency, args.parse_processes)
    elif args.child == "floor":
        out = run_floor(urls, args.concurrency)
    elif args.child == "reader":
        out = run_reader(urls, workdir, args.workers)
    else:
        out = run_sequential(urls, workdir)
    if profiler is not None:
        profiler.stop()
        print(profiler.output_text(unicode=True, show_all=False), file=sys.stderr)
    print(json.dumps(out))


# --- driver -----------------------------------------------------------------------------------


def _spawn(name: str, urls_file: Path, workdir: Path, args: argparse.Namespace) -> list[dict]:  # type: ignore[type-arg]
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.ingest_bench",
        "--child",
        name,
        "--urls-file",
        str(urls_file),
        "--workdir",
        str(workdir),
        "--concurrency",
        str(args.concurrency),
        *(["--parse-processes", str(args.parse_processes)] if args.parse_processes else []),
        "--workers",
        str(args.workers),
        *(["--profile"] if args.profile else []),
    ]
    child = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    peaks: list[float] = []
    errors: list[str] = []
    assert child.stderr is not None and child.stdout is not None
    with _MemorySampler(child.pid) as memory:
        for line in child.stderr:
            if line.strip() == PASS_END:
                peaks.append(memory.take_peak())
            else:
                errors.append(line)
        out = child.stdout.read()
        child.wait()
    stderr = "".join(errors)
    if child.returncode != 0:
        sys.exit(f"{name} failed:\n{stderr[-3000:]}")
    if stderr.strip():
        print(stderr.strip()[-20000 if args.profile else -500 :], file=sys.stderr)
    passes: list[dict[str, float]] = json.loads(out.strip().splitlines()[-1])
    for p, peak in zip(passes, peaks, strict=False):
        p["tree_mb"] = peak
    return passes


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=50, help="items per feed")
    parser.add_argument("--latency", type=float, default=0.1, help="server latency, seconds")
    parser.add_argument("--hosts", type=int, default=64, help="loopback addresses to spread over")
    parser.add_argument("--concurrency", type=int, default=128, help="Goodwill's concurrency")
    parser.add_argument(
        "--parse-processes",
        type=int,
        help="Goodwill's parse worker processes in a large run (default: as shipped, "
        "goodwill.ingest.PARSE_PROCESSES)",
    )
    parser.add_argument("--workers", type=int, default=32, help="reader's update_feeds workers")
    parser.add_argument(
        "--shape",
        choices=["realistic", "full-content", "minimal"],
        default="realistic",
        help="item size: like the realworld corpus (default), every feed with full articles "
        "(photography blogs), or one-sentence summaries",
    )
    parser.add_argument(
        "--no-validators",
        action="store_true",
        help="the server sends no ETag or Last-Modified: the second pass gets every body again",
    )
    parser.add_argument("--skip", action="append", default=[], choices=CONTENDERS)
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="rounds, each contender once per round in turn; times are medians over the rounds, "
        "memory the largest seen (a shared machine varies from minute to minute)",
    )
    parser.add_argument("--profile", action="store_true", help="pyinstrument each contender")
    parser.add_argument("--child", choices=CONTENDERS)
    parser.add_argument("--urls-file")
    parser.add_argument("--workdir")
    args = parser.parse_args(argv)
    if args.child:
        _child(args)
        return

    from benchmarks.feedserver import FeedServerProcess

    contenders = [c for c in CONTENDERS if c not in args.skip]
    with (
        FeedServerProcess(
            args.feeds,
            args.items,
            args.latency,
            args.hosts,
            args.shape,
            validators=not args.no_validators,
        ) as server,
        tempfile.TemporaryDirectory(prefix="goodwill-bench-") as tmp,
    ):
        per_item = server.total_bytes / (args.feeds * args.items)
        print(
            f"{args.feeds} feeds x {args.items} items ({args.shape}"
            f"{', no validators' if args.no_validators else ''}: "
            f"{server.total_bytes / 1e6:.0f} MB, {per_item:,.0f}"
            f" bytes per item), {args.latency * 1000:g} ms latency, {args.hosts} hosts; "
            f"goodwill concurrency {args.concurrency}, reader workers {args.workers}; "
            f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}",
            flush=True,
        )
        urls_file = Path(tmp) / "urls.json"
        urls_file.write_text(json.dumps(server.urls))
        rounds: dict[str, list[list[dict[str, float]]]] = {name: [] for name in contenders}
        for r in range(1, args.repeat + 1):
            for name in contenders:
                workdir = Path(tmp) / f"{name}-{r}"
                workdir.mkdir()
                print(f"  running {name} (round {r}) ...", file=sys.stderr, flush=True)
                rounds[name].append(_spawn(name, urls_file, workdir, args))
        results: dict[str, list[dict[str, float]]] = {
            name: _summary(runs) for name, runs in rounds.items()
        }

    print(
        f"{'':<12}{'pass':<10}{'wall s':>8}{'CPU s':>8}{'peak RSS MB':>13}{'all procs MB':>14}"
        f"{'items':>9}{'items/s':>10}"
    )
    again = "again" if args.no_validators else "304s"  # the second pass: unchanged feeds
    for name, passes in results.items():
        for label, p in zip(("first", again), passes, strict=True):
            rate = p["items"] / p["wall"] if p["wall"] else 0.0
            print(
                f"{name:<12}{label:<10}{p['wall']:>8.2f}{p['cpu']:>8.2f}{p['rss_mb']:>13.0f}"
                f"{p['tree_mb']:>14.0f}{int(p['items']):>9}{rate:>10.0f}"
            )
    print(
        "CPU counts every process of a contender; peak RSS is its main process's; all procs is "
        "the peak sum of PSS over its processes, sampled every 100 ms"
        + (
            f"; wall and CPU are medians of {args.repeat} rounds, memory the largest"
            if args.repeat > 1
            else ""
        )
    )
    if args.repeat > 1:  # each round's first pass, in the order they ran
        for name, runs in rounds.items():
            walls = ", ".join(f"{run[0]['wall']:.2f}" for run in runs)
            print(f"{name} first pass by round: {walls} s")
    if "goodwill" in results:
        g = results["goodwill"]
        for name in ("floor", "reader", "sequential"):
            if name in results:
                o = results[name]
                each = ""
                if args.repeat > 1:  # the ratio within each round, where both ran minutes apart
                    ratios = [
                        theirs[0]["wall"] / ours[0]["wall"]
                        for theirs, ours in zip(rounds[name], rounds["goodwill"], strict=True)
                    ]
                    each = f" (rounds: {', '.join(f'{x:.2f}x' for x in ratios)})"
                print(
                    f"{name} / goodwill: wall {o[0]['wall'] / g[0]['wall']:.2f}x{each}, "
                    f"CPU {o[0]['cpu'] / max(g[0]['cpu'], 1e-9):.2f}x; "
                    f"{again} pass wall {o[1]['wall'] / g[1]['wall']:.2f}x"
                )


def _summary(runs: list[list[dict[str, float]]]) -> list[dict[str, float]]:
    """Per pass: the median wall and CPU time over the rounds, the largest memory, the items of
    the first round (every round stores the same)."""
    out = []
    for passes in zip(*runs, strict=True):
        out.append(
            {
                "wall": statistics.median(p["wall"] for p in passes),
                "cpu": statistics.median(p["cpu"] for p in passes),
                "rss_mb": max(p["rss_mb"] for p in passes),
                "tree_mb": max(p.get("tree_mb", 0.0) for p in passes),
                "items": passes[0]["items"],
            }
        )
    return out


if __name__ == "__main__":
    main()
