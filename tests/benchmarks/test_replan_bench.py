"""The re-planning evaluation: ``carbon backtest --strategy optimised --paths N`` on the example
book and the reference market (the optimised strategy re-plans on every path, with the rules
beside it), keeping its compiled programs (``engine.optimiser_cache``) against the reference
that builds and compiles every program afresh (``reuse_programs=false``, as before), in the same
run. Both must give the same costs on every path. The issue's goal: 200 paths under 30 s on this
2-core machine. 200 paths take a minute or more for the pair, so they run only with ``--slow``:
``pytest tests/benchmarks/test_replan_bench.py --slow``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from desk.cli.backtest_run import BacktestRequest, run_backtest_command

COSTS: dict[tuple[int, str], pd.DataFrame] = {}
PATHS = [20, pytest.param(200, marks=pytest.mark.slow)]


@pytest.fixture(scope="module", autouse=True)
def validated_model(tmp_path_factory):
    """The model choice is validated once into the user's cache before either is timed."""
    run_backtest_command(BacktestRequest("optimised", paths=2, out=tmp_path_factory.mktemp("warm")))


def evaluate(benchmark, out: Path, paths: int, params: tuple[str, ...], name: str) -> None:
    request = BacktestRequest("optimised", params=params, paths=paths, out=out)
    benchmark.group = f"re-planning evaluation, {paths} paths, reference market"  # a pair a size
    run = benchmark.pedantic(run_backtest_command, args=(request,), rounds=1, iterations=1)
    COSTS[(paths, name)] = pd.read_csv(out / "costs.csv", index_col="path")
    benchmark.extra_info["steps"] = f"{paths} paths: {benchmark.stats.stats.median:.1f} s"
    assert run.metrics["strategy"]["shortfall_probability"] == 0.0
    other = COSTS.get((paths, "reference" if name == "kept" else "kept"))
    if other is not None:  # the same plans: the same costs on every path, to the cent
        pd.testing.assert_frame_equal(COSTS[(paths, name)], other)


@pytest.mark.parametrize("paths", PATHS)
def test_replanning_reference_fresh_programs(benchmark, tmp_path: Path, paths: int):
    evaluate(benchmark, tmp_path, paths, ("reuse_programs=false",), "reference")


@pytest.mark.parametrize("paths", PATHS)
def test_replanning_kept_programs(benchmark, tmp_path: Path, paths: int):
    evaluate(benchmark, tmp_path, paths, (), "kept")
