"""The whole nightly run on the reference market (issue goal: within 60 s wall on this 2-core
machine with the defaults: 1 entity, 100,000 paths, 1,000 optimiser scenarios, a frontier of 5
lambdas), with the time of every step from run.json in the benchmark's extra info.

Ten entities take several minutes, so that benchmark runs only with ``--slow``:
``pytest tests/benchmarks/test_nightly_bench.py --slow``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from desk.config import default_config_path, load_config
from desk.nightly import run_nightly

BOOK = default_config_path().parent / "power_company_book.toml"


def config_for(folder: Path, entities: int) -> Path:
    """The packaged example configuration with ``entities`` copies of its entity, each book
    scaled by its index (so that no two plans are the same problem)."""
    example = '[[entities]]\nname = "power-co"\nbook = "power_company_book.toml"\n'
    text = default_config_path().read_text()
    assert example in text
    book = BOOK.read_text()
    tables = []
    for i in range(entities):
        output = f"expected_output = {4_000_000 + 40_000 * i}"
        (folder / f"book{i}.toml").write_text(book.replace("expected_output = 4_000_000", output))
        tables.append(f'[[entities]]\nname = "plant-{i}"\nbook = "book{i}.toml"\n')
    path = folder / "desk.toml"
    path.write_text(text.replace(example, "") + "\n" + "\n".join(tables))
    return path


def night(benchmark, tmp_path: Path, entities: int) -> None:
    config = load_config(config_for(tmp_path, entities))
    assert config.run.paths == 100_000 and config.run.scenarios == 1_000
    run = benchmark.pedantic(
        run_nightly, args=(config,), kwargs={"store": tmp_path / "s.sqlite"}, rounds=1,
        iterations=1,
    )  # fmt: skip
    assert all(e.ok for e in run.entities) and len(run.entities) == entities
    steps = run.record["timings_s"]
    benchmark.extra_info.update({f"step_{k}": v for k, v in steps.items()})
    benchmark.extra_info["steps"] = ", ".join(f"{k} {v:.1f} s" for k, v in steps.items())


@pytest.mark.benchmark(group="nightly run, reference market")
def test_nightly_one_entity(benchmark, tmp_path: Path):
    night(benchmark, tmp_path, 1)


@pytest.mark.slow
@pytest.mark.benchmark(group="nightly run, reference market")
def test_nightly_ten_entities(benchmark, tmp_path: Path):
    night(benchmark, tmp_path, 10)
