"""Model validation beyond the size of the issue's goal (5 candidate models x 40 month-end
origins, 10,000 paths x 250 sessions each, under 60 s on this 2-core machine): all 15
candidates x 40 origins, on the embedded reference market. The time splits into the fits (about
400 of them) and the simulations; the fits' share is in the benchmark's extra info."""

from __future__ import annotations

import time

import pytest

import market_data as md
from engine.validation import CANDIDATES, ValidationSpec, rolling, validate


@pytest.mark.benchmark(group="model validation, 15 models x 40 origins x 10,000 x 250")
def test_validate_every_candidate_over_forty_origins(benchmark, monkeypatch):
    frame = md.reference_market()
    gaps = md.calendar_for("XSHG").session_gaps(frame.index)
    spec = ValidationSpec(paths=10_000, band=0.10, max_origins=40)
    fitting = {"s": 0.0}
    fit = rolling.Candidate.params

    def timed_fit(self, *args):
        start = time.perf_counter()
        try:
            return fit(self, *args)
        finally:
            fitting["s"] += time.perf_counter() - start

    monkeypatch.setattr(rolling.Candidate, "params", timed_fit)
    result = benchmark.pedantic(
        validate, args=(frame["close"], gaps, spec, CANDIDATES), rounds=1, iterations=1
    )
    assert len(result.origins) == 40 and len(result.summary) == len(CANDIDATES) == 15
    assert (result.summary["fitted"] + result.summary["failed"] == 40).all()
    benchmark.extra_info["fits_s"] = round(fitting["s"], 2)
    benchmark.extra_info["path_steps"] = len(CANDIDATES) * 40 * 10_000 * 250
