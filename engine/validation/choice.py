"""Validation of several candidate models on one history, and the choice among them by their
out-of-sample forecasts.

The score that ranks them is the CRPS of the log close (a proper score: it rewards calibration
and sharpness together) relative to the best candidate's at each named horizon, and then the
geometric mean of those ratios over the horizons (so that no one horizon dominates): 1 is best
at every horizon. The best is sought among the candidates outside the Basel red zone when there
are any, so a red candidate's score may fall below 1. A candidate in the red zone on either
side, or whose fit failed at more than a fifth of the origins, ranks after the others. Scores
within ``NEAR`` (0.5 %) of the best are as good as the Monte Carlo noise of the CRPS allows to
tell: among those the better Basel zone comes first (a green VaR before a yellow one), then the
lower score; the mean BIC at the origins breaks exact ties.

Until the longest horizon (250 sessions) has been scored from ``LONG_ORIGINS`` origins, as in
a young market judged on the horizons it can reach, two kinds of candidate rank after the
others, because their long-run fan is an assumption the short horizons cannot check:

- the Student-t fits: their variance is fed by fat-tailed shocks, which can make the typical
  path's volatility die away (E log(alpha z^2 + beta) < 0), so their fans can collapse at long
  horizons while they score best at short ones (the CEA's and NZU's did);
- the short-history ``fallback``: its persistence is set, not fitted, and its long-run
  variance is the last 250 returns', so after a calm year it draws the sharpest fan at short
  horizons and the narrowest at long ones (the NZU's before its 2020-21 rally).

They compete once the long horizon can show how their fans hold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from engine.errors import ModelError
from engine.validation.backtests import (
    TrafficLight,
    basel_traffic_light,
    berkowitz,
    christoffersen_conditional_coverage,
    christoffersen_independence,
    ks_uniform,
    kupiec_pof,
)
from engine.validation.rolling import (
    BANDS,
    CANDIDATES,
    HORIZONS,
    VAR_HORIZONS,
    VAR_LEVELS,
    Candidate,
    CandidateScores,
    OriginMemory,
    ValidationSpec,
    choose_origins,
    evaluate_candidate,
)

NEAR = 0.005  # scores within this of the best: the Basel zone decides first
LONG_ORIGINS = 12  # origins the longest horizon needs before the Student-t fits compete
MAX_FAILED_SHARE = 0.2  # a candidate whose fit failed at more origins ranks last
POOLED_EARLY = 20  # the pooled coverage is also reported over the first this many sessions
RECENT_ORIGINS = 12  # the recent coverage pools the forecasts of the last this many origins
ZONES = ("green", "yellow", "red")


@dataclass(frozen=True)
class ValidationResult:
    """What ``validate`` found.

    Attributes:
        spec, origins: what was asked and the origins used.
        scores: each candidate's record (``CandidateScores``), by name.
        horizons: per candidate and named horizon: ``cover50``, ``cover90``, ``crps``, ``n``.
        summary: one row per candidate, best first: ``rank``, ``score`` (1 is best),
            pooled coverage of the 90 % band over the first 20 sessions and over all of them
            (``cover90_early``, ``cover90_all``), over the first 20 sessions after the last 12
            origins (``cover90_recent``), and of the 50 % band, ``zone`` (Basel, the
            worse side), ``fitted`` and ``failed`` origins, ``bic`` (mean over the origins).
        tests: one row per candidate, test, side, level and horizon: ``statistic``, ``pvalue``,
            ``passed`` (at 5 %), ``n``, ``exceedances`` and ``expected``.
        lights: each candidate's traffic light for ``long`` (losses when the price falls) and
            ``short`` (when it rises; a compliance buyer's risk).
        chosen, reason: the best candidate's name, and why, in words.
    """

    spec: ValidationSpec
    origins: pd.DatetimeIndex
    scores: dict[str, CandidateScores]
    horizons: pd.DataFrame
    summary: pd.DataFrame
    tests: pd.DataFrame
    lights: dict[str, dict[str, TrafficLight]]
    chosen: str
    reason: str

    @property
    def zone(self) -> str:
        """The chosen model's Basel zone (the worse of its two sides)."""
        return str(self.summary.loc[self.chosen, "zone"])

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON: the choice, the summary and the tests."""
        summary = self.summary.reset_index().replace({np.nan: None})
        tests = self.tests.replace({np.nan: None})
        return {
            "chosen": self.chosen,
            "reason": self.reason,
            "zone": self.zone,
            "origins": [d.date().isoformat() for d in self.origins],
            "horizons": list(self.spec.horizons),
            "paths": self.spec.paths,
            "seed": self.spec.seed,
            "candidates": summary.to_dict(orient="records"),
            "by_horizon": self.horizons.reset_index().to_dict(orient="records"),
            "tests": tests.to_dict(orient="records"),
        }


def _side_hits(var: pd.DataFrame, side: str, level: float) -> np.ndarray:
    tail = "q01" if level == 0.99 else "q05"
    top = "q99" if level == 0.99 else "q95"
    if side == "long":
        return (var["return_pct"] < var[tail]).to_numpy(np.int64)
    return (var["return_pct"] > var[top]).to_numpy(np.int64)


def _tests(record: CandidateScores) -> tuple[list[dict[str, Any]], dict[str, TrafficLight]]:
    rows: list[dict[str, Any]] = []
    lights: dict[str, TrafficLight] = {}
    name = record.candidate.name
    for horizon in VAR_HORIZONS:
        var = record.var[record.var["horizon"] == horizon]
        # a transition is from one forecast to the next, not across missing sessions
        follows = np.r_[False, np.diff(var["session"].to_numpy()) == horizon]
        for side in ("long", "short"):
            for level in VAR_LEVELS:
                if len(var) < 2:
                    continue
                hits = _side_hits(var, side, level)
                p = 1.0 - level
                for test in (
                    kupiec_pof(hits, p),
                    christoffersen_independence(hits, follows),
                    christoffersen_conditional_coverage(hits, p, follows),
                ):
                    rows.append(
                        {
                            "candidate": name,
                            "test": test.name,
                            "side": side,
                            "level": level,
                            "horizon": horizon,
                            "n": test.n,
                            "exceedances": int(hits.sum()),
                            "expected": p * hits.size,
                            "statistic": test.statistic,
                            "pvalue": test.pvalue,
                            "passed": test.passed,
                        }
                    )
                if horizon == 1 and level == 0.99:
                    lights[side] = basel_traffic_light(hits, p)
    daily = record.var[record.var["horizon"] == 1]["pit"].to_numpy()
    if daily.size >= 10:
        for test in (berkowitz(daily), ks_uniform(daily)):
            rows.append(
                {
                    "candidate": name,
                    "test": test.name,
                    "side": "both",
                    "level": math.nan,
                    "horizon": 1,
                    "n": test.n,
                    "exceedances": None,
                    "expected": None,
                    "statistic": test.statistic,
                    "pvalue": test.pvalue,
                    "passed": test.passed,
                }
            )
    return rows, lights


def _by_horizon(scores: dict[str, CandidateScores], horizons: tuple[int, ...]) -> pd.DataFrame:
    rows = []
    for name, record in scores.items():
        f = record.forecasts
        for h in horizons:
            at = f[f["horizon"] == h]
            rows.append(
                {
                    "candidate": name,
                    "horizon": h,
                    "n": len(at),
                    **{
                        f"cover{round(b * 100)}": at[f"in{round(b * 100)}"].mean()
                        if len(at)
                        else math.nan
                        for b in BANDS
                    },
                    "crps": at["crps"].mean() if len(at) else math.nan,
                }
            )
    return pd.DataFrame(rows).set_index(["candidate", "horizon"])


def _relative_crps(scores: dict[str, CandidateScores], eligible: list[str], horizons) -> dict:
    """Geometric mean over the named horizons of each candidate's CRPS over the best one's, on the
    forecasts every eligible candidate made (the same origins and closes)."""
    keys = ["origin", "date"]
    common = None
    for name in eligible:
        f = scores[name].forecasts
        at = f[f["horizon"].isin(horizons)][keys]
        common = at if common is None else common.merge(at, on=keys)
    relative: dict[str, float] = {}
    if common is None or common.empty:
        return relative
    per = {}
    for name in scores:
        f = scores[name].forecasts.merge(common, on=keys)
        per[name] = f.groupby("horizon")["crps"].mean()
    table = pd.DataFrame(per).astype(float)  # a candidate with no forecast: an empty column
    best = table[eligible].min(axis=1)
    ratios = table.div(best, axis=0)
    return {name: float(np.exp(np.log(ratios[name]).mean())) for name in scores}


def validate(
    prices: pd.Series,
    session_gaps: np.ndarray,
    spec: ValidationSpec,
    candidates: tuple[Candidate, ...] = CANDIDATES,
    memory: OriginMemory | None = None,
) -> ValidationResult:
    """Evaluate every candidate on the rolling origins of ``spec`` and rank them (see the
    module's docstring). ``ModelError`` when no origin can be scored, naming what is missing.
    ``memory`` keeps the origins' work for the next validation of the same, longer history."""
    if not candidates:
        raise ModelError("validation needs at least one candidate model")
    origins = choose_origins(pd.DatetimeIndex(prices.index), spec, session_gaps)
    session = np.cumsum(np.asarray(session_gaps))
    reach = int(session[-1] - session[prices.index.get_loc(origins[0])])
    if reach < spec.longest:
        raise ModelError(
            f"horizon {spec.longest} sessions: no origin has a close that far ahead (the first "
            f"origin, {origins[0].date()}, is {reach} sessions before the last close, "
            f"{prices.index[-1].date()}); use shorter horizons or earlier origins"
        )
    scores = {
        c.name: evaluate_candidate(prices, session_gaps, c, spec, origins, memory)
        for c in candidates
    }
    test_rows: list[dict[str, Any]] = []
    lights: dict[str, dict[str, TrafficLight]] = {}
    summary_rows = []
    for name, record in scores.items():
        rows, lights[name] = _tests(record)
        test_rows.extend(rows)
        f = record.forecasts
        early = f[f["horizon"] <= POOLED_EARLY]
        recent = early[early["origin"].isin(origins[-RECENT_ORIGINS:])]
        failed = int((record.fits["error"] != "").sum())
        zones = [light.zone for light in lights[name].values()]
        summary_rows.append(
            {
                "candidate": name,
                "cover90_early": early["in90"].mean() if len(early) else math.nan,
                "cover90_all": f["in90"].mean() if len(f) else math.nan,
                "cover90_recent": recent["in90"].mean() if len(recent) else math.nan,
                "cover50_early": early["in50"].mean() if len(early) else math.nan,
                "cover50_all": f["in50"].mean() if len(f) else math.nan,
                "zone": max(zones, key=ZONES.index) if zones else "red",
                "fitted": len(record.fits) - failed,
                "failed": failed,
                "bic": float(record.fits["bic"].replace(math.inf, math.nan).mean()),
            }
        )
    summary = pd.DataFrame(summary_rows).set_index("candidate")
    usable = summary["failed"] <= MAX_FAILED_SHARE * len(origins)
    usable &= summary["fitted"] > 0
    eligible = [n for n in summary.index if usable[n]]
    if not eligible:
        problems = "; ".join(
            f"{n}: {scores[n].fits['error'].iloc[0]}" for n in summary.index if len(scores[n].fits)
        )
        raise ModelError(f"no candidate could be fitted at enough origins: {problems}")
    not_red = [n for n in eligible if summary.loc[n, "zone"] != "red"]
    relative = _relative_crps(scores, not_red or eligible, spec.horizons)
    summary["score"] = [relative.get(n, math.inf) if usable[n] else math.inf for n in summary.index]
    summary["red"] = summary["zone"] == "red"
    long_tested = _long_origins(scores, spec) >= LONG_ORIGINS
    summary["untested"] = [
        not long_tested and _long_run_assumed(scores[n].candidate) for n in summary.index
    ]
    pool = ~summary["red"] & ~summary["untested"]
    pool = pool if pool.any() else ~summary["red"]
    best = summary.loc[pool, "score"].min() if pool.any() else math.nan
    summary["far"] = ~(summary["score"] <= best * (1 + NEAR))
    summary["light"] = [
        0 if far else ZONES.index(zone)
        for far, zone in zip(summary["far"], summary["zone"], strict=True)
    ]
    order = ["red", "untested", "far", "light", "score", "bic"]
    summary = summary.sort_values(order, na_position="last")
    held_back = [str(n) for n in summary.index if summary.loc[n, "untested"]]
    summary = summary.drop(columns=["red", "untested", "far", "light"])
    summary.insert(0, "rank", range(1, len(summary) + 1))
    chosen = str(summary.index[0])
    return ValidationResult(
        spec,
        origins,
        scores,
        _by_horizon(scores, spec.horizons),
        summary,
        pd.DataFrame(test_rows),
        lights,
        chosen,
        _reason(summary, len(origins), held_back),
    )


def _long_run_assumed(cand: Candidate) -> bool:
    """Whether the candidate's long-run fan is an assumption that only the longest horizon
    can check (see the module's docstring)."""
    return cand.dist == "t" or cand.fallback


def _long_origins(scores: dict[str, CandidateScores], spec: ValidationSpec) -> int:
    """How many origins scored a close at the longest horizon (most over the candidates);
    none when the spec stops short of the validation's longest (a young market)."""
    if spec.longest < HORIZONS[-1]:
        return 0
    return max(
        (r.forecasts.loc[r.forecasts["horizon"] == spec.longest, "origin"].nunique()
         for r in scores.values()),
        default=0,
    )  # fmt: skip


def _reason(summary: pd.DataFrame, n_origins: int, held_back: list[str]) -> str:
    best = summary.iloc[0]
    pool = summary[(summary["zone"] != "red") & ~summary.index.isin(held_back)]
    pool = pool if len(pool) else summary[summary["zone"] != "red"]
    lowest = (pool if len(pool) else summary)["score"].idxmin()
    how = (
        "has the lowest out-of-sample CRPS"
        if lowest == summary.index[0]
        else f"is within {NEAR:.1%} of the lowest out-of-sample CRPS ({lowest}) with a better "
        "Basel zone"
    )
    if held_back and summary.index[0] not in held_back:
        how += (
            f" among the candidates whose long-run fan is fitted ({', '.join(held_back)} "
            f"wait until {LONG_ORIGINS} origins have scored {HORIZONS[-1]} sessions ahead)"
        )
    text = (
        f"{summary.index[0]} {how} over {n_origins} origins "
        f"(score {best['score']:.3f}, 1 is best at every horizon); its 90 % band held "
        f"{best['cover90_early']:.0%} of the next {POOLED_EARLY} sessions' closes and "
        f"{best['cover90_all']:.0%} of all; Basel zone {best['zone']}"
    )
    if len(summary) > 1:
        second = summary.iloc[1]
        text += f"; next: {summary.index[1]} (score {second['score']:.3f}, {second['zone']})"
    if best["zone"] == "red":
        text += "; every candidate is in the red zone"
    return text
