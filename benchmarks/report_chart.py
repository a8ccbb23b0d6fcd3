"""The weekly report's chart: hand-written SVG vs matplotlib (import and render cost).

    python benchmarks/report_chart.py [--matplotlib-python /path/to/venv/bin/python]

Prints medians. matplotlib is measured in a fresh interpreter (its import is most of the cost)
from any Python that has it; Goodwill itself does not depend on it.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from goodwill.report import DayBar, svg_data_uri, weekly_svg

MPL = r"""
import time, io, sys
t0 = time.perf_counter()
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
t1 = time.perf_counter()
fig, ax = plt.subplots(figsize=(7.2, 2.6), dpi=100)
days = list(range(14))
v = [i % 3 for i in days]; p = [int(i == 4) for i in days]; q = [int(i > 7) for i in days]
ax.bar(days, v, color="#2e7d32"); ax.bar(days, p, bottom=v, color="#ef6c00")
ax.bar(days, q, bottom=[a + b for a, b in zip(v, p)], color="#90a4ae")
buf = io.BytesIO(); fig.savefig(buf, format="png"); t2 = time.perf_counter()
print(f"{(t1 - t0) * 1000:.1f} {(t2 - t1) * 1000:.1f} {len(buf.getvalue())}")
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--matplotlib-python", help="a Python with matplotlib installed")
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()

    day = datetime(2026, 11, 20, tzinfo=UTC)
    bars = [DayBar(day + timedelta(days=i), i % 3, int(i == 4), int(i > 7)) for i in range(14)]
    times = []
    for _ in range(200):
        t = time.perf_counter()
        uri = svg_data_uri(weekly_svg(bars, "Hazel & Pine Studio: last 7 days and the next 7"))
        times.append((time.perf_counter() - t) * 1000)
    print(f"svg: render+encode median {statistics.median(times):.3f} ms, {len(uri)} bytes as URI")

    if args.matplotlib_python:
        imports, renders, sizes = [], [], []
        for _ in range(args.runs):
            out = subprocess.run(
                [args.matplotlib_python, "-c", MPL], capture_output=True, text=True, check=True
            ).stdout.split()
            imports.append(float(out[0]))
            renders.append(float(out[1]))
            sizes.append(int(out[2]))
        imp, ren = statistics.median(imports), statistics.median(renders)
        print(
            f"matplotlib: import median {imp:.0f} ms, render PNG median {ren:.0f} ms, "
            f"{statistics.median(sizes):.0f} bytes PNG (~{statistics.median(sizes) * 4 / 3:.0f} "
            "as a base64 URI)"
        )
        print(
            f"ratio (matplotlib import+render / svg): {(imp + ren) / statistics.median(times):.0f}x"
        )


if __name__ == "__main__":
    main()
