"""The model a command uses when none is named: validated, cached by market and data, refitted
on every close, with the short-history fallback; recorded by the nightly run."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import market_data as md
from desk.models.choice import choose_model
from engine.errors import ModelError
from engine.markets import CEA
from engine.validation.pick import validation_cut


@pytest.fixture(scope="module")
def reference() -> pd.Series:
    return md.reference_market()["close"]


def gaps(closes: pd.Series) -> np.ndarray:
    return md.calendar_for("XSHG").session_gaps(pd.DatetimeIndex(closes.index))


def test_the_validation_stops_at_the_month_before_the_last_close():
    index = pd.DatetimeIndex(["2026-05-28", "2026-05-29", "2026-06-01", "2026-06-30"])
    assert validation_cut(index) == pd.Timestamp("2026-05-29")
    assert validation_cut(index[2:]) is None


def test_choice_is_validated_cached_and_refitted_on_every_close(reference, tmp_path):
    closes = reference.loc[:"2026-06-15"]
    first = choose_model(closes, gaps(closes), CEA, cache_dir=tmp_path, paths=300)
    assert not first.cached and first.validated_to == "2026-05-29"
    assert first.params.last_date == "2026-06-15"  # refitted on every close
    ranking = [row["candidate"] for row in first.validation["candidates"]]
    assert first.name == ranking[0] and first.reason.startswith(f"{first.name} ")
    assert "out-of-sample CRPS" in first.reason
    assert len(list(tmp_path.glob("cea-*.json"))) == 1
    # A later close of the same month: the same validation, from the cache.
    later = reference.loc[:"2026-06-30"]
    second = choose_model(later, gaps(later), CEA, cache_dir=tmp_path, paths=300)
    assert second.cached and second.validation == first.validation
    assert second.params.last_date == "2026-06-30"
    coarser = later.copy()
    coarser.index = coarser.index.as_unit("s")  # the same dates read by another reader
    assert choose_model(coarser, gaps(coarser), CEA, cache_dir=tmp_path, paths=300).cached
    # A close before the cut that changes: validated again.
    edited = later.copy()
    edited.iloc[100] *= 1.01
    third = choose_model(edited, gaps(edited), CEA, cache_dir=tmp_path, paths=300)
    assert not third.cached and len(list(tmp_path.glob("cea-*.json"))) == 2
    record = second.record()
    assert record["chosen"] == second.name and record["origins"] == len(first.validation["origins"])
    json.dumps(record)  # plain values for run.json


def test_a_short_history_gets_the_fallback_never_no_model(reference, tmp_path):
    """The CEA's first cycle: 230 returns before the first month-end with 250."""
    closes = reference.iloc[:231]
    choice = choose_model(closes, gaps(closes), CEA, cache_dir=tmp_path, paths=300)
    assert choice.name == "fallback" and choice.validation == {} and choice.zone is None
    assert (choice.params.alpha, choice.params.beta) == (0.05, 0.90)
    assert "no origin to validate from: the history has 230 returns" in choice.reason
    with pytest.raises(ModelError, match="needs 20"):
        choose_model(reference.iloc[:15], gaps(reference.iloc[:15]), CEA, cache_dir=tmp_path)


def test_the_nightly_run_records_and_shows_the_choice(tmp_path):
    from desk.config.desk import default_config_path, load_config
    from desk.nightly.run import run_nightly

    run = run_nightly(load_config(default_config_path()), out=tmp_path / "runs",
                      store=tmp_path / "s.sqlite")  # fmt: skip
    choice = run.markets["cea"].choice
    recorded = json.loads((run.folder / "run.json").read_text())["model_choice"]["cea"]
    assert recorded["chosen"] == choice.name
    assert run.markets["cea"].params == choice.params  # the paths come from the choice
    assert recorded["zone"] in ("green", "yellow", "red") and recorded["origins"] > 40
    page = (run.folder / "report.html").read_text()
    assert f"CEA: model {choice.name}, validated on {recorded['origins']} month-end origins" in page
    assert f"Basel zone <b>{recorded['zone']}</b>" in page
    chosen = next(r for r in recorded["candidates"] if r["candidate"] == choice.name)
    assert 0 <= chosen["cover90_recent"] <= 1
    assert f"({chosen['cover90_recent'] * 100:.0f} % over the last 12 origins)" in page


def test_a_validation_cached_by_another_engine_is_not_reused(reference, tmp_path, monkeypatch):
    """The cache key holds a hash of the engine's source: after an upgrade that changed the
    models, the simulator or the validation, the month's choice is validated again."""
    import desk.models.choice as choice

    closes = reference.loc[:"2026-06-15"]
    assert len(choice.engine_digest()) == 64
    assert not choose_model(closes, gaps(closes), CEA, cache_dir=tmp_path, paths=300).cached
    assert choose_model(closes, gaps(closes), CEA, cache_dir=tmp_path, paths=300).cached
    monkeypatch.setattr(choice, "engine_digest", lambda: "0" * 64)
    assert not choose_model(closes, gaps(closes), CEA, cache_dir=tmp_path, paths=300).cached
    assert len(list(tmp_path.glob("cea-*.json"))) == 2
