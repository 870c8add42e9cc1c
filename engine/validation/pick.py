"""The volatility model to use when none is named, chosen by the validation: pure, no cache.

The validation runs on the closes up to the end of the month before the last close (a month's
nights share one validation); a young market is judged on the horizons it can reach; the first
candidate in the ranking whose fit on every close succeeds is used. A history with no origin to
score gets the short-history model (``engine.fallback.fallback_params``), never no model.
``desk.models.choice`` adds the file cache and the run record; the optimised strategy calls
``pick_model`` with a memory of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from engine.errors import ModelError
from engine.validation.choice import validate
from engine.validation.rolling import (
    FALLBACK,
    OriginMemory,
    ValidationSpec,
    candidate,
    month_end_origins,
)
from engine.volatility import FitDiagnostics, VolatilityParams

CHOICE_PATHS = 2_000  # paths an origin for the choice (carbon model validate uses 10,000)
CHOICE_MIN_OBSERVATIONS = 250  # returns before an origin; fewer: the short-history model

Summary = dict[str, Any]  # ValidationResult.to_dict()
Validator = Callable[[pd.Series, np.ndarray, ValidationSpec], Summary | None]


@dataclass(frozen=True)
class Picked:
    """The model picked and why.

    Attributes:
        params, diagnostics: the chosen candidate fitted on every close (diagnostics ``None``
            for the fallback, which is not fitted).
        name: the candidate's name (``garch-normal``, ..., ``fallback``).
        reason: why, in words.
        validation: the validation's summary (``ValidationResult.to_dict``), empty when the
            history was too short to validate.
        validated_to: the last close the validation used (ISO date), or ``None``.
    """

    params: VolatilityParams
    diagnostics: FitDiagnostics | None
    name: str
    reason: str
    validation: Summary
    validated_to: str | None


def validation_cut(index: pd.DatetimeIndex) -> pd.Timestamp | None:
    """The last close before the month of the last close (``None`` when there is none)."""
    month = index[-1].to_period("M").start_time
    before = index[index < month]
    return before[-1] if len(before) else None


def reachable(spec: ValidationSpec, index: pd.DatetimeIndex, gaps: np.ndarray) -> ValidationSpec:
    """``spec`` with the horizons that some origin can score (a young market has no close 250
    sessions after its first month-end yet: it is judged on the shorter horizons)."""
    origins = month_end_origins(index, spec.min_observations, gaps)
    if not len(origins):
        return spec  # the validation says what is missing
    session = np.cumsum(gaps)
    reach = session[-1] - session[index.get_loc(origins[0])]
    horizons = tuple(h for h in spec.horizons if h <= reach) or (1,)
    return replace(spec, horizons=horizons)


def validate_summary(
    closes: pd.Series, gaps: np.ndarray, spec: ValidationSpec, memory: OriginMemory | None = None
) -> Summary | None:
    """The validation's summary, or ``None`` when no origin can be scored."""
    try:
        return validate(closes, gaps, spec, memory=memory).to_dict()
    except ModelError:
        return None


@dataclass
class GrowingHistory:
    """What successive validations of one growing history (a backtest walking forward) keep:
    each summary by the last close it used, and each origin's fit and completed record
    (``engine.validation.rolling.evaluate_candidate``)."""

    summaries: dict[pd.Timestamp, Summary | None] = field(default_factory=dict)
    origins: OriginMemory = field(default_factory=dict)

    def validator(self) -> Validator:
        def run(closes: pd.Series, gaps: np.ndarray, spec: ValidationSpec) -> Summary | None:
            key = pd.Timestamp(closes.index[-1])
            if key not in self.summaries:
                self.summaries[key] = validate_summary(closes, gaps, spec, self.origins)
            return self.summaries[key]

        return run


def pick_model(
    closes: pd.Series,
    gaps: np.ndarray,
    *,
    band: float | None,
    tick: float | None = None,
    paths: int = CHOICE_PATHS,
    seed: int = 0,
    min_observations: int = CHOICE_MIN_OBSERVATIONS,
    validator: Validator = validate_summary,
) -> Picked:
    """Validate, choose, and fit the choice on every close (see the module's docstring).
    ``ModelError`` only when even the fallback cannot be made (fewer than 20 returns)."""
    gaps = np.asarray(gaps)
    cut = validation_cut(pd.DatetimeIndex(closes.index))
    summary = None
    spec = ValidationSpec(
        paths=paths, seed=seed, band=band, tick=tick, min_observations=min_observations
    )
    if cut is not None:
        upto = int(closes.index.get_loc(cut)) + 1
        spec = reachable(spec, pd.DatetimeIndex(closes.index[:upto]), gaps[:upto])
        summary = validator(closes.iloc[:upto], gaps[:upto], spec)
    if summary is None:
        params, _ = FALLBACK.fit(closes, gaps, min_observations)
        reason = (
            f"no origin to validate from: the history has {len(closes) - 1} returns and an "
            f"origin needs {min_observations} before a month-end: the short-history model "
            "(GARCH(1,1)-normal, alpha 0.05, beta 0.90, scaled to the realised variance)"
        )
        return Picked(params, None, FALLBACK.name, reason, {}, None)
    failures = []
    for row in summary["candidates"]:
        name = row["candidate"]
        try:
            params, diagnostics = candidate(name).fit(closes, gaps, min_observations)
        except ModelError as exc:
            failures.append(f"{name}: {exc}")
            continue
        reason = summary["reason"]
        if failures:
            reason += "; refitted on every close, " + "; ".join(failures)
        assert cut is not None
        return Picked(params, diagnostics, name, reason, summary, cut.date().isoformat())
    raise ModelError(
        "no validated candidate could be fitted on every close: " + "; ".join(failures)
    )
