"""Tail memory of an empirical shape: the pools against a count by hand, the parameters'
checks, the kernel against a NumPy recursion on the same draws, the dependence it carries into
the paths, the validation's one-day VaR after a tail day, and the choice on data that need it."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from engine import simulate_nb as nb
from engine.errors import ModelError
from engine.random_nb import (
    cdf_of_shape,
    fill_from_table_nb,
    fill_u64_nb,
    quantile_of_shape,
    table_uniform,
    unit,
)
from engine.simulate import (
    SimulationSpec,
    innovations_table,
    kernel_params,
    simulate_log_closes,
)
from engine.tail_memory import (
    AFTER_FALL,
    AFTER_RISE,
    ORDINARY,
    TAIL_EVIDENCE,
    TAIL_MIN_FOLLOWERS,
    TAIL_SHARE,
    kind_nb,
    kinds_nb,
    tail_memory,
)
from engine.validation import ValidationSpec, candidate, validate
from engine.validation.rolling import VAR_QUANTILES, _Filter
from engine.volatility import DayState, VolatilityParams, fit_volatility

_RNG = np.random.default_rng(21)
SHAPE = tuple(_RNG.standard_t(5, 250) / math.sqrt(5 / 3))
AFTER_FALL_POOL = tuple(_RNG.normal(-1.0, 1.5, 60))  # a slide: the day after a fall falls
AFTER_RISE_POOL = tuple(_RNG.normal(0.5, 1.2, 40))
MEMORY = VolatilityParams(
    model="garch", dist="fhs", mu=0.02, omega=0.05, alpha=0.08, gamma=0.0, beta=0.87,
    nu=None, last_variance=1.2, last_residual=-2.0, last_price=70.0, last_date="2015-12-31",
    unchanged_prob=0.0, shape=SHAPE, tail_bounds=(-1.0, 1.2), after_fall=AFTER_FALL_POOL,
    after_rise=AFTER_RISE_POOL,
)  # fmt: skip


def test_pools_are_the_residuals_after_each_tail_counted_by_hand():
    """As the fit gives them (not centred), each tail's followers; without the test of
    evidence (``evidence=1``) both sides are kept."""
    z = np.random.default_rng(1).standard_t(4, 3000) + 0.3
    memory = tail_memory(z, evidence=1.0)
    low, high = np.quantile(z, [TAIL_SHARE, 1 - TAIL_SHARE])
    falls = [z[t] for t in range(1, z.size) if z[t - 1] < low]
    rises = [z[t] for t in range(1, z.size) if z[t - 1] > high]
    assert memory.bounds == (pytest.approx(low), pytest.approx(high))
    np.testing.assert_allclose(memory.after_fall, np.sort(falls))
    np.testing.assert_allclose(memory.after_rise, np.sort(rises))
    assert len(falls) == pytest.approx(TAIL_SHARE * z.size, abs=2)
    assert memory.lines == memory.bounds


def test_a_side_with_too_few_tail_days_has_no_memory():
    """5 % of 500 residuals is 25 days, under the 30 followers a pool needs; 700 give 35."""
    assert TAIL_MIN_FOLLOWERS == 30
    rng = np.random.default_rng(2)
    assert tail_memory(rng.normal(size=500), evidence=1.0) is None
    assert tail_memory(rng.normal(size=700), evidence=1.0) is not None


def _paired(n: int, repeats: int) -> np.ndarray:
    """n standard normal residuals where ``repeats`` of the days after the lowest 5 % are
    themselves set far into the lower tail."""
    z = np.random.default_rng(3).standard_normal(n)
    low = np.quantile(z, TAIL_SHARE)
    after = np.flatnonzero(z[:-1] < low)[:repeats] + 1
    z[after] = -3.0
    return z


def test_each_side_needs_evidence_that_its_tail_days_follow_each_other():
    """Of 2,000 days about 100 are falls, and about 5 falls follow a fall by chance: the
    one-sided binomial test at 1 % keeps no memory for independent days. When 20 of the days
    after a fall are set to falls of -3 s.d. the falls keep theirs (the followers' mean is
    -0.5) and the rises, still independent, have none: their tail days are ordinary."""
    assert TAIL_EVIDENCE == 0.01
    assert tail_memory(_paired(2000, 0)) is None
    kept = tail_memory(_paired(2000, 20))
    assert np.mean(kept.after_fall) < -0.4 and kept.after_rise == ()
    assert kept.lines == (kept.bounds[0], math.inf)


def test_kind_of_day_is_one_rule():
    cases = (-2.0, -1.5, 0.0, 1.7, 2.0)
    expected = [AFTER_FALL, ORDINARY, ORDINARY, ORDINARY, AFTER_RISE]
    assert [kind_nb(z, -1.5, 1.7) for z in cases] == expected
    assert list(kinds_nb(np.array(cases), -1.5, 1.7)) == expected


def test_params_check_the_tail_memory_and_round_trip_through_json():
    assert MEMORY.name == "garch-fhs-tm"
    assert MEMORY.after_fall == tuple(sorted(AFTER_FALL_POOL))
    assert VolatilityParams.from_json(MEMORY.to_json()) == MEMORY
    plain = dataclasses.replace(MEMORY, tail_bounds=(), after_fall=(), after_rise=())
    data = plain.to_dict()
    for name in ("tail_bounds", "after_fall", "after_rise"):
        del data[name]  # written before the tail memory existed
    assert VolatilityParams.from_dict(data) == plain
    with pytest.raises(ModelError, match=r"tail_bounds .* low < high"):
        dataclasses.replace(MEMORY, tail_bounds=(1.0, -1.0))
    with pytest.raises(ModelError, match=r"after_rise .* at least 30"):
        dataclasses.replace(MEMORY, after_rise=AFTER_RISE_POOL[:29])
    with pytest.raises(ModelError, match=r"tail_bounds .* needs after_fall or after_rise"):
        dataclasses.replace(MEMORY, after_fall=(), after_rise=())
    one_sided = dataclasses.replace(MEMORY, after_rise=())
    assert one_sided.tail_lines == (-1.0, math.inf)
    assert VolatilityParams.from_json(one_sided.to_json()) == one_sided
    with pytest.raises(ModelError, match=r"tail_bounds .* empty for dist 'normal'"):
        dataclasses.replace(MEMORY, dist="normal", shape=())


@pytest.mark.parametrize("band", [0.04, 0.013])
def test_kernel_equals_a_numpy_recursion_on_the_same_draws(band):
    """The day after a published standardised residual below -1 (above 1.2) reads the after-fall
    (after-rise) pool at the day's uniform; the first day's kind is the last fitted day's
    (-2.0 / sqrt(1.2): a fall); a thin day is ordinary (its residual is minus the mean, small);
    the variance runs on the normal score as without memory. The kernel to 1e-12 in log price,
    with the band binding and every kind of day many times; with the 1.3 % band a clipped
    day's published residual is often ordinary where its draw was a tail day's."""
    thin = 0.1
    spec = SimulationSpec(paths=24, days=80, seed=9, band=band, unchanged_prob=thin)
    logs = simulate_log_closes(MEMORY, spec)
    down, up = math.log1p(-band), math.log1p(band)
    low, high = MEMORY.tail_bounds
    pools = [np.asarray(s) for s in MEMORY.shapes]
    seen = np.zeros(3, dtype=np.int64)
    clipped = differs = 0
    for i in range(spec.paths):
        z = np.empty(spec.days * 2)
        bits = np.empty(spec.days * 2, dtype=np.uint64)
        fill_from_table_nb(z, spec.seed, i, innovations_table(MEMORY))
        fill_u64_nb(bits, spec.seed, i)
        z, thin_bits, bits = z[::2], bits[1::2], bits[::2]
        u = np.array([table_uniform(b) for b in bits])
        variance, close = MEMORY.next_variance / 1e4, math.log(MEMORY.last_price)
        kind = AFTER_FALL
        for t in range(spec.days):
            sd = math.sqrt(variance)
            mean = MEMORY.mu / 100
            day = float(quantile_of_shape(pools[kind], u[t]))
            seen[kind] += 1
            quiet = unit(thin_bits[t]) < thin
            move = 0.0 if quiet else min(max(mean + sd * day, down), up)
            clipped += not quiet and move != mean + sd * day
            close += move
            assert logs[i, t] == pytest.approx(close, abs=1e-12)
            standard = (move - mean) / sd
            kind = AFTER_FALL if standard < low else AFTER_RISE if standard > high else ORDINARY
            differs += not quiet and kind != kind_nb(day, low, high)
            shock = -mean if quiet else sd * z[t]
            variance = MEMORY.omega / 1e4 + MEMORY.alpha * shock**2 + MEMORY.beta * variance
    assert clipped >= 5
    assert seen.min() >= 50, seen
    assert differs >= (20 if band < 0.02 else 0)


def test_paths_carry_the_slide_into_the_next_day():
    """A constant variance, so a day's standardised residual is its return over the s.d.: after
    a fall (below -1) the next day's mean is the after-fall pool's (-1 give or take), after an
    ordinary day the shape's (0)."""
    flat = dataclasses.replace(MEMORY, omega=1.0, alpha=0.0, beta=0.0, last_variance=1.0, mu=0.0)
    logs = simulate_log_closes(flat, SimulationSpec(paths=1, days=200_000, seed=4))[0]
    z = np.diff(logs) * 100.0  # s.d. 1 %: the returns in per cent are the standardised draws
    after_fall = z[1:][z[:-1] < -1.0]
    ordinary = z[1:][(z[:-1] >= -1.0) & (z[:-1] <= 1.2)]
    assert after_fall.mean() == pytest.approx(np.mean(AFTER_FALL_POOL), abs=0.03)
    assert ordinary.mean() == pytest.approx(np.mean(SHAPE), abs=0.02)


def test_filters_var_after_a_fall_is_the_after_fall_pools():
    """The validation's one-day VaR: mean + sigma Q(level) with Q the after-fall pool's after
    a fall, the shape's after an ordinary day; the PIT reads the same pool."""
    model = _Filter(MEMORY, ValidationSpec())
    sd = math.sqrt(MEMORY.next_variance)
    expected = MEMORY.mu + sd * quantile_of_shape(MEMORY.after_fall, VAR_QUANTILES)
    np.testing.assert_allclose(model.forecast(previous=70.0), expected, atol=1e-12)
    assert model.observe(MEMORY.mu) == pytest.approx(float(cdf_of_shape(MEMORY.after_fall, 0.0)))
    ordinary_sd = math.sqrt(MEMORY.variance_after(model.day.variance, model.day.residual))
    expected = MEMORY.mu + ordinary_sd * quantile_of_shape(MEMORY.shape, VAR_QUANTILES)
    np.testing.assert_allclose(model.forecast(previous=70.0), expected, atol=1e-12)


def _slides(n: int, seed: int) -> pd.Series:
    """Closes of a GARCH market whose falls come in slides: a day after a day below the 5 %
    quantile falls by a further 1.5 s.d. on average (as the NZU's did from 2022)."""
    rng = np.random.default_rng(seed)
    omega, alpha, beta = 0.05, 0.08, 0.87
    variance, returns, previous = omega / (1 - alpha - beta), np.empty(n), 0.0
    for t in range(n):
        z = rng.standard_normal() + (-1.5 if previous < -1.645 else 0.0)
        returns[t] = math.sqrt(variance) * z
        variance = omega + alpha * returns[t] ** 2 + beta * variance
        previous = z
    closes = 60.0 * np.exp(np.cumsum(returns) / 100.0)
    return pd.Series(closes, index=pd.bdate_range("2012-01-02", periods=n), name="close")


def test_fit_filter_and_state_read_the_same_days():
    """On a market with slides, the fit's pools are the residuals that followed the days the
    model itself calls falls: ``kind_after`` of each fitted day's state (arch's residual and
    variance), the rule the validation's filter and the first simulated day read. The memory
    survives running the state forward (``advanced``, ``at``); a plain ``fhs`` has none."""
    prices = _slides(1500, 2)
    fit = fit_volatility(prices.iloc[:1400], model="garch", dist="normal")
    params = fit.fhs(memory=True)
    assert np.mean(params.after_fall) < -1.0  # the slide, found in the residuals
    states = [DayState(s * s, e, 0.0) for e, s in
              zip(fit.result.resid, fit.result.conditional_volatility, strict=True)]  # fmt: skip
    kinds = np.array([params.kind_after(state) for state in states])
    z = np.asarray(fit.residuals)
    assert params.after_fall == tuple(np.sort(z[1:][kinds[:-1] == AFTER_FALL]))
    assert params.after_rise == () and AFTER_RISE not in kinds  # rises are independent here
    moved = params.advanced(prices.iloc[1400:].to_numpy(), "2017-10-01")
    assert moved.shapes == params.shapes and moved.tail_bounds == params.tail_bounds
    assert fit.fhs().tail_bounds == ()


def test_first_simulated_day_reads_the_last_fitted_days_residual():
    """The first day's kind is that of the last fitted day's standardised residual, e_T /
    sigma_T (-0.72 / sqrt(0.5) = -1.02: a fall), not e_T over the next day's s.d. (-0.99)."""
    params = dataclasses.replace(MEMORY, last_variance=0.5, last_residual=-0.72)
    assert -0.72 / math.sqrt(params.next_variance) > params.tail_bounds[0]
    vector = kernel_params(params, SimulationSpec(paths=16, days=2))
    assert vector[nb.KIND0] == AFTER_FALL == params.kind_after(params.state)


def test_validation_on_a_market_with_slides_picks_tail_memory():
    """On a market whose falls come in slides, the tail-memory candidate's one-day VaR passes
    Christoffersen's independence test where plain filtered historical simulation fails, and
    its forecasts score better."""
    prices = _slides(2400, 5)
    names = ("garch-fhs", "garch-fhs-tm")
    spec = ValidationSpec(horizons=(1, 5, 20), paths=1000, min_observations=1000)
    result = validate(prices, np.ones(len(prices)), spec, tuple(candidate(n) for n in names))
    assert result.chosen == "garch-fhs-tm"
    tests = result.tests
    falls = tests[(tests["horizon"] == 1) & (tests["side"] == "long") & (tests["level"] == 0.95)]
    independence = falls[falls["test"].str.contains("independence")].set_index("candidate")
    assert independence.loc["garch-fhs", "pvalue"] < 0.05
    assert independence.loc["garch-fhs-tm", "pvalue"] > 0.05
