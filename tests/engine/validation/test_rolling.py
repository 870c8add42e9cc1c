"""Rolling-origin validation: calibrated on data from a known model, blind to the future,
reproducible, and clear about what is missing."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from engine.errors import ConfigurationError, ModelError
from engine.fallback import fallback_params
from engine.simulate import SimulationSpec, simulate_closes
from engine.validation import ValidationSpec, candidate, evaluate_candidate, validate
from engine.validation.rolling import FALLBACK, choose_origins, month_end_origins
from engine.volatility import VolatilityParams

TRUE = VolatilityParams(
    model="garch",
    dist="normal",
    mu=0.0,
    omega=0.08,
    alpha=0.08,
    gamma=0.0,
    beta=0.88,
    nu=None,
    last_variance=2.0,
    last_residual=0.0,
    last_price=60.0,
    last_date="2015-12-31",
    unchanged_prob=0.0,
)


@pytest.fixture(scope="module")
def history() -> pd.Series:
    """1,600 sessions of one path of a GARCH(1,1)-normal: the truth is among the candidates."""
    closes = simulate_closes(TRUE, SimulationSpec(paths=1, days=1600, seed=21))[0]
    return pd.Series(closes, index=pd.bdate_range("2016-01-01", periods=1600), name="close")


@pytest.fixture(scope="module")
def result(history):
    spec = ValidationSpec(
        horizons=(1, 5, 20), paths=1000, seed=3, min_observations=500, max_origins=40
    )
    models = (candidate("garch-normal"), candidate("garch-t"), candidate("fallback"))
    return validate(history, np.ones(len(history)), spec, models)


def test_a_correct_model_is_calibrated(result):
    """On data from GARCH-normal, GARCH-normal's 90 % band holds 90 % (here 0.911) of the
    closes up to 20 sessions ahead (here 0.922), its 1-day VaR passes Kupiec and Christoffersen,
    and it is not in the red zone (4 and 5 exceedances of the 99 % VaR in the last 250
    sessions: green and yellow; a correct model is yellow one time in nine)."""
    row = result.summary.loc["garch-normal"]
    assert 0.85 <= row["cover90_early"] <= 0.95
    assert 0.40 <= row["cover50_early"] <= 0.60
    tests = result.tests
    daily = tests[
        (tests.candidate == "garch-normal")
        & (tests.horizon == 1)
        & tests.test.str.startswith(("Kupiec", "Christoffersen"))
    ]
    assert len(daily) == 12 and daily.passed.all()
    lights = result.lights["garch-normal"]
    assert (lights["long"].exceedances, lights["short"].exceedances) == (4, 5)
    assert row["zone"] == "yellow"


def test_the_choice_ranks_by_out_of_sample_crps(result):
    """The true model's family scores best or ties (a t fit to normal data nests it)."""
    assert result.summary.iloc[0]["score"] == pytest.approx(1.0, abs=0.005)
    assert result.chosen in ("garch-normal", "garch-t")
    assert result.summary.loc["fallback", "score"] > 1.0
    assert "lowest out-of-sample CRPS" in result.reason
    assert set(result.to_dict()) >= {"chosen", "reason", "zone", "candidates", "tests"}


def test_forecasts_never_see_the_future(history):
    """Changing the closes after an origin changes no fit at that origin or before."""
    spec = ValidationSpec(horizons=(1, 5), paths=200, min_observations=500, max_origins=6)
    origins = choose_origins(pd.DatetimeIndex(history.index), spec)
    cut = history.index.get_loc(origins[2])
    shocked = history.copy()
    shocked.iloc[cut + 1 :] *= np.exp(np.linspace(0, 0.5, len(history) - cut - 1))
    gaps = np.ones(len(history))
    model = candidate("garch-normal")
    before = evaluate_candidate(history, gaps, model, spec, origins).fits
    after = evaluate_candidate(shocked, gaps, model, spec, origins).fits
    pd.testing.assert_frame_equal(before.iloc[:3], after.iloc[:3])
    assert not before.iloc[3:].equals(after.iloc[3:])


def test_same_seed_same_scores(history):
    spec = ValidationSpec(horizons=(1, 5), paths=300, seed=4, min_observations=500, max_origins=3)
    model = candidate("gjr-normal")
    one = evaluate_candidate(
        history,
        np.ones(len(history)),
        model,
        spec,
        choose_origins(pd.DatetimeIndex(history.index), spec),
    )
    two = evaluate_candidate(
        history,
        np.ones(len(history)),
        model,
        spec,
        choose_origins(pd.DatetimeIndex(history.index), spec),
    )
    pd.testing.assert_frame_equal(one.forecasts, two.forecasts)
    pd.testing.assert_frame_equal(one.var, two.var)


def test_horizons_are_counted_in_sessions_across_missing_data(history):
    """A close two sessions after the origin is scored at horizon 2, even when the data miss
    the session between."""
    spec = ValidationSpec(
        horizons=(1, 2), paths=200, min_observations=500, origins=(history.index[700],)
    )
    holed = history.drop(history.index[701])
    gaps = np.ones(len(holed))
    gaps[701] = 2
    record = evaluate_candidate(
        holed, gaps, candidate("garch-normal"), spec, pd.DatetimeIndex(spec.origins)
    )
    assert record.forecasts[["date", "horizon"]].values.tolist() == [[history.index[702], 2]]


def test_too_little_history_is_named():
    short = pd.Series(np.linspace(50, 60, 120), index=pd.bdate_range("2024-01-01", periods=120))
    with pytest.raises(ModelError, match="no origin to validate from: every origin needs 250"):
        validate(short, np.ones(120), ValidationSpec())
    with pytest.raises(ModelError, match="not a date of the prices"):
        choose_origins(
            pd.DatetimeIndex(short.index), ValidationSpec(origins=(pd.Timestamp("2023-01-02"),))
        )
    with pytest.raises(ModelError, match="horizon 60 sessions: no origin has a close that far"):
        validate(
            short,
            np.ones(120),
            ValidationSpec(horizons=(1, 60), min_observations=100, origins=(short.index[100],)),
        )
    with pytest.raises(ConfigurationError, match="unknown model 'egarch'"):
        candidate("egarch")
    with pytest.raises(ConfigurationError, match="at least 100 paths"):
        ValidationSpec(paths=10)


def test_fallback_reverts_to_the_realised_variance(history):
    params = fallback_params(history.iloc[:300])
    returns = 100 * np.diff(np.log(history.iloc[:300].to_numpy()))[-250:]
    assert params.unconditional_variance == pytest.approx(np.mean(returns**2))
    assert (params.alpha, params.beta, params.mu) == (0.05, 0.90, 0.0)
    assert params.last_date == history.index[299].date().isoformat()
    with pytest.raises(ModelError, match="needs 20"):
        fallback_params(history.iloc[:10])
    assert math.isfinite(params.next_variance)


def test_a_candidate_that_never_fits_ranks_last_without_breaking_the_ranking(history, monkeypatch):
    """A candidate whose fit fails at every origin has no forecast: it is scored inf and ranked
    last; the others are ranked as usual (this once crashed the geometric mean)."""
    from engine.validation import rolling

    fit = rolling.Candidate.fit

    def failing(self, *args):
        if self.name == "garch-t":
            raise ModelError("did not converge (planted)")
        return fit(self, *args)

    monkeypatch.setattr(rolling.Candidate, "fit", failing)
    spec = ValidationSpec(horizons=(1, 5), paths=200, min_observations=500, max_origins=3)
    models = (candidate("garch-normal"), candidate("garch-t"))
    result = validate(history, np.ones(len(history)), spec, models)
    assert list(result.summary.index) == ["garch-normal", "garch-t"]
    assert result.summary.loc["garch-t", "failed"] == 3
    assert math.isinf(result.summary.loc["garch-t", "score"])
    assert result.summary.loc["garch-normal", "score"] == pytest.approx(1.0)


def test_origins_count_daily_returns_not_rows():
    """A weekly stretch (each close 5 sessions after the last) gives no daily return: the
    first month-end origin comes once 250 daily returns have accrued after it, so that every
    fitted candidate can be fitted there (the NZU's weekly years made every fit fail and the
    short-history fallback win by default)."""
    weekly = pd.bdate_range("2015-01-02", periods=300, freq="5B")
    daily = pd.bdate_range(weekly[-1] + pd.offsets.BDay(), periods=400)
    index = weekly.append(daily)
    gaps = np.r_[np.ones(1), np.full(299, 5), np.ones(400)].astype(np.int64)
    origins = month_end_origins(index, 250, gaps)
    first = index.get_loc(origins[0])
    counts = np.cumsum(np.r_[0, gaps[1:] <= 1])
    assert counts[first] >= 250 and first >= 300 + 249
    assert month_end_origins(index, 250)[0] < weekly[-1]  # counted as rows, as before
    spec = ValidationSpec(horizons=(1,), paths=100, min_observations=800)
    with pytest.raises(ModelError, match="the data have 400 daily returns in 700 closes"):
        choose_origins(index, spec, gaps)


def test_student_t_waits_for_the_long_horizon(monkeypatch):
    """On data from a fat-tailed GARCH-t (nu 3) the t fit has the best short-horizon CRPS, but
    a validation that has not scored 250 sessions ahead from 12 origins ranks it after the
    normal fit and says why; once the long horizon counts (here: the rule switched off), the
    better score wins."""
    import engine.validation.choice as choice

    fat = dataclasses.replace(TRUE, dist="t", nu=3.0, alpha=0.12, beta=0.85)
    closes = simulate_closes(fat, SimulationSpec(paths=1, days=900, seed=5))[0]
    prices = pd.Series(closes, index=pd.bdate_range("2016-01-01", periods=900), name="close")
    spec = ValidationSpec(horizons=(1, 5), paths=1000, seed=3, min_observations=500)
    models = (candidate("garch-normal"), candidate("garch-t"))
    young = validate(prices, np.ones(len(prices)), spec, models)
    t_score, normal_score = young.summary.loc[["garch-t", "garch-normal"], "score"]
    assert t_score < normal_score  # the t forecasts the short horizons better ...
    assert young.chosen == "garch-normal"  # ... and waits
    assert "garch-t wait until 12 origins have scored 250 sessions ahead" in young.reason
    monkeypatch.setattr(choice, "LONG_ORIGINS", 0)
    assert validate(prices, np.ones(len(prices)), spec, models).chosen == "garch-t"


def test_fallback_waits_for_the_long_horizon(monkeypatch):
    """After a turbulent history and a calm year, the fallback (long-run variance: the last
    250 returns') draws the sharper fan and scores better up to 60 sessions ahead; a young
    validation ranks it after the fitted model, whose long-run variance is estimated, until the
    long horizon can show how its fan holds (here: the rule switched off)."""
    import engine.validation.choice as choice

    rng = np.random.default_rng(7)
    returns = np.r_[rng.standard_normal(700) * 0.03, rng.standard_normal(560) * 0.008]
    index = pd.bdate_range("2016-01-01", periods=returns.size)
    prices = pd.Series(50 * np.exp(np.cumsum(returns)), index=index, name="close")
    spec = ValidationSpec(horizons=(1, 5, 20, 60), paths=1000, seed=3, min_observations=900)
    models = (candidate("garch-normal"), FALLBACK)
    young = validate(prices, np.ones(len(prices)), spec, models)
    assert young.summary.loc["fallback", "score"] < young.summary.loc["garch-normal", "score"]
    assert young.chosen == "garch-normal"
    assert "fallback wait until 12 origins have scored 250 sessions ahead" in young.reason
    monkeypatch.setattr(choice, "LONG_ORIGINS", 0)
    assert validate(prices, np.ones(len(prices)), spec, models).chosen == "fallback"


def test_a_close_at_the_limit_price_is_inside_a_var_held_at_the_band():
    """The band's limit is the exchange's price, previous close x 1.10 rounded half up to the
    tick: 10.05 allows 11.06, a move of 9.54 %, above log(1.10) = 9.53 %. On a market wild
    enough that its 99 % VaR sits at the band, a close at the limit is not an exceedance;
    measured against the band's exact edge (no tick), each such close was one."""
    from engine.alerts.scan_nb import limit_price_nb
    from engine.validation.rolling import limits_pct

    assert limit_price_nb(10.05, 0.10, 0.01) == pytest.approx(11.06)
    low, high = limits_pct(10.05, 0.10, 0.01)
    assert 100 * math.log(9.05 / 10.05) >= low and 100 * math.log(11.06 / 10.05) <= high
    assert 100 * math.log(11.07 / 10.05) > high
    assert limits_pct(10.05, 0.10, None) == pytest.approx(
        (100 * math.log(0.9), 100 * math.log(1.1))
    )

    rng = np.random.default_rng(3)
    closes = [20.0]
    for move in rng.standard_normal(700) * 0.06:
        up, down = limit_price_nb(closes[-1], 0.10, 0.01), limit_price_nb(closes[-1], -0.10, 0.01)
        closes.append(float(np.clip(round(closes[-1] * math.exp(move), 2), down, up)))
    prices = pd.Series(closes, index=pd.bdate_range("2016-01-01", periods=len(closes)))
    gaps = np.ones(len(prices))
    at_limit = prices.to_numpy()[1:] == [limit_price_nb(p, 0.10, 0.01) for p in closes[:-1]]
    beyond_edge = at_limit & (np.diff(np.log(closes)) > math.log1p(0.10))
    assert beyond_edge.sum() == 19

    def exceedances(tick: float | None) -> int:
        spec = ValidationSpec(horizons=(1,), paths=100, band=0.10, tick=tick, min_observations=250)
        origins = month_end_origins(pd.DatetimeIndex(prices.index), 250)
        var = evaluate_candidate(prices, gaps, FALLBACK, spec, origins).var
        daily = var[var["horizon"] == 1].set_index("date")
        limit_days = prices.index[1:][beyond_edge]
        return int((daily["return_pct"] > daily["q99"]).reindex(limit_days).fillna(False).sum())

    assert exceedances(None) == 11  # the limit closes after the first origin
    assert exceedances(0.01) == 0
