"""Goodwill's items agree with feedparser's on the corpora (``benchmarks/agreement.py``).

The floors are what was measured when this test was written; every disagreement left is
explained in ``benchmarks.agreement.EXPLAIN`` (run ``python -m benchmarks.agreement``).
"""

from __future__ import annotations

import pytest

from benchmarks.agreement import EXPLAIN, measure
from tests.conftest import corpora_dir

FLOORS = {
    # corpus: (titles, links, dates), as fractions of the entries both parsers found
    "feedparser-tests": (0.98, 0.99, 1.0),
    "realworld-feeds": (1.0, 1.0, 0.986),
}


@pytest.mark.corpus
@pytest.mark.slow
def test_agreement_with_feedparser_stays_above_the_measured_floor() -> None:
    root = corpora_dir()
    if root is None:
        pytest.skip("corpora absent")
    reports = measure(root)
    for name, (titles, links, dates) in FLOORS.items():
        r = reports[name]
        assert r.entries > 100, name
        assert r.rate(r.title_agree) >= titles, (name, r.classes)
        assert r.rate(r.link_agree) >= links, (name, r.classes)
        assert r.rate(r.date_agree) >= dates, (name, r.classes)
        # Every disagreement falls in a class that is explained.
        assert set(r.classes) <= set(EXPLAIN), set(r.classes) - set(EXPLAIN)
