"""The whole nightly run on the reference market (issue goal: within 60 s wall on this 2-core
machine with the defaults: 1 entity, 100,000 paths, 1,000 optimiser scenarios, a frontier of 5
lambdas), with the time of every step from run.json in the benchmark's extra info. The model
choice's validation is cached first, as on every night of a month but the first (whose extra
time is the model-choice benchmark below).

Ten entities take several minutes, so that benchmark runs only with ``--slow``:
``pytest tests/benchmarks/test_nightly_bench.py --slow``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from desk.config.desk import default_config_path, load_config
from desk.nightly.run import run_nightly

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


def warm_validation(store: Path, seed: int) -> None:
    """Validate the reference market into the cache the night reads, as every night of a month
    but its first finds it (the first night's validation is ``test_model_choice_validating``)."""
    import market_data as md
    from desk.models.choice import cache_folder, choose_model
    from desk.nightly.run import VALIDATION_CACHE
    from engine.markets import CEA

    closes = md.reference_market()["close"]
    gaps = md.calendar_for("XSHG").session_gaps(closes.index)
    cache = cache_folder(store.parent / VALIDATION_CACHE)
    choose_model(closes, gaps, CEA, cache_dir=cache, seed=seed)


def night(benchmark, tmp_path: Path, entities: int) -> None:
    config = load_config(config_for(tmp_path, entities))
    assert config.run.paths == 100_000 and config.run.scenarios == 1_000
    warm_validation(tmp_path / "s.sqlite", config.run.seed)
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


@pytest.mark.benchmark(group="nightly model choice, reference market")
def test_model_choice_validating(benchmark, tmp_path: Path):
    """The first night of a month validates the candidates (2,000 paths an origin)."""
    import market_data as md
    from desk.models.choice import choose_model
    from engine.markets import CEA

    closes = md.reference_market()["close"]
    gaps = md.calendar_for("XSHG").session_gaps(closes.index)
    choice = benchmark.pedantic(
        choose_model, args=(closes, gaps, CEA), kwargs={"cache_dir": tmp_path}, rounds=1,
        iterations=1,
    )  # fmt: skip
    assert not choice.cached


@pytest.mark.benchmark(group="nightly model choice, reference market")
def test_model_choice_cached(benchmark, tmp_path: Path):
    """The other nights of the month read the validation from the cache and refit the choice
    (issue goal: under 5 s added to the night)."""
    import market_data as md
    from desk.models.choice import choose_model
    from engine.markets import CEA

    closes = md.reference_market()["close"]
    gaps = md.calendar_for("XSHG").session_gaps(closes.index)
    choose_model(closes, gaps, CEA, cache_dir=tmp_path)
    choice = benchmark(choose_model, closes, gaps, CEA, cache_dir=tmp_path)
    assert choice.cached
