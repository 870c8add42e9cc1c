"""The volatility model a command uses when none is named: the candidate that the rolling-origin
validation ranks first, refitted on every close.

The validation runs on the closes up to the end of the month before the last close, with
``CHOICE_PATHS`` paths an origin, and is cached by market, settings and a hash of those closes:
within a month every night reuses it, and a new month's first night validates again (a few
seconds). A history with no origin to score (fewer than ``min_observations`` returns before
the first month-end) gets the documented short-history model
(``engine.volatility.fallback_params``), never no model.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from desk.store.files import write_all_atomic
from engine.errors import ModelError
from engine.markets import MarketRules
from engine.validation import (
    CANDIDATES,
    FALLBACK,
    ValidationSpec,
    candidate,
    month_end_origins,
    validate,
)
from engine.volatility import FitDiagnostics, VolatilityParams

CHOICE_PATHS = 2_000  # paths an origin for the choice (carbon model validate uses 10,000)
CHOICE_MIN_OBSERVATIONS = 250  # returns before an origin; fewer: the short-history model
CACHE_VERSION = 2
RECORDED = ("candidate", "rank", "score", "cover90_early", "cover90_recent", "cover90_all", "zone")
CACHE_ENV = "CARBON_VALIDATION_CACHE"  # overrides where validations are cached


def cache_folder(default: Path | None = None) -> Path:
    """Where validations are cached: ``$CARBON_VALIDATION_CACHE``, else ``default``, else
    ``$XDG_CACHE_HOME/carbon-desk/validation`` (``~/.cache/...``)."""
    configured = os.environ.get(CACHE_ENV, "").strip()
    if configured:
        return Path(configured).expanduser()
    if default is not None:
        return default
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or "~/.cache"
    return Path(base).expanduser() / "carbon-desk" / "validation"


@dataclass(frozen=True)
class ModelChoice:
    """The model chosen for tonight and why.

    Attributes:
        params, diagnostics: the chosen candidate fitted on every close (diagnostics ``None``
            for the fallback, which is not fitted).
        name: the candidate's name (``garch-normal``, ..., ``fallback``).
        reason: why, in words.
        validation: the validation's summary (``ValidationResult.to_dict``: ranking, coverage,
            tests, zone) as of ``validated_to``; empty when the history was too short.
        validated_to: the last close the validation used (ISO date), or ``None``.
        cached: whether the validation came from the cache.
    """

    params: VolatilityParams
    diagnostics: FitDiagnostics | None
    name: str
    reason: str
    validation: dict[str, Any]
    validated_to: str | None
    cached: bool

    @property
    def zone(self) -> str | None:
        return self.validation.get("zone") if self.validation else None

    def record(self) -> dict[str, Any]:
        """What run.json keeps: the choice, its reason, and the validation's headline figures."""
        rows = self.validation.get("candidates", []) if self.validation else []
        return {
            "chosen": self.name,
            "reason": self.reason,
            "validated_to": self.validated_to,
            "cached": self.cached,
            "zone": self.zone,
            "origins": len(self.validation.get("origins", [])) if self.validation else 0,
            "candidates": [{k: row.get(k) for k in RECORDED} for row in rows],
        }


def validation_cut(index: pd.DatetimeIndex) -> pd.Timestamp | None:
    """The last close before the month of the last close (``None`` when there is none)."""
    month = index[-1].to_period("M").start_time
    before = index[index < month]
    return before[-1] if len(before) else None


def _key(rules: MarketRules, closes: pd.Series, spec: ValidationSpec) -> str:
    digest = hashlib.sha256()
    settings = [CACHE_VERSION, rules.code, rules.daily_band, [c.name for c in CANDIDATES],
                spec.paths, spec.seed, spec.min_observations, list(spec.horizons)]  # fmt: skip
    digest.update(json.dumps(settings).encode())
    digest.update(pd.DatetimeIndex(closes.index).as_unit("ns").asi8.tobytes())  # any unit
    digest.update(np.ascontiguousarray(closes.to_numpy(np.float64)).tobytes())
    return digest.hexdigest()


def _validated(
    closes: pd.Series, gaps: np.ndarray, rules: MarketRules, spec: ValidationSpec,
    cache_dir: Path | None,
) -> tuple[dict[str, Any] | None, bool]:  # fmt: skip
    """The validation summary of ``closes`` (from the cache when there), and whether it was
    cached; ``None`` when no origin can be scored."""
    path = None
    if cache_dir is not None:
        path = cache_dir / f"{rules.code}-{_key(rules, closes, spec)[:24]}.json"
        try:
            return json.loads(path.read_text(encoding="utf-8")), True
        except (OSError, ValueError):
            pass  # not cached yet, or unreadable: validate again
    try:
        summary = validate(closes, gaps, spec).to_dict()
    except ModelError:
        return None, False
    if path is not None:
        with contextlib.suppress(OSError):  # a cache not written costs time, not the night
            write_all_atomic(
                {path: lambda p: p.write_text(json.dumps(summary), "utf-8")}, private=True
            )
    return summary, False


def _reachable(spec: ValidationSpec, index: pd.DatetimeIndex, gaps: np.ndarray) -> ValidationSpec:
    """``spec`` with the horizons that some origin can score (a young market has no close 250
    sessions after its first month-end yet: it is judged on the shorter horizons)."""
    origins = month_end_origins(index, spec.min_observations)
    if not len(origins):
        return spec  # the validation says what is missing
    session = np.cumsum(gaps)
    reach = session[-1] - session[index.get_loc(origins[0])]
    horizons = tuple(h for h in spec.horizons if h <= reach) or (1,)
    return replace(spec, horizons=horizons)


def choose_model(
    closes: pd.Series,
    gaps: np.ndarray,
    rules: MarketRules,
    *,
    cache_dir: Path | None = None,
    paths: int = CHOICE_PATHS,
    seed: int = 0,
    min_observations: int = CHOICE_MIN_OBSERVATIONS,
) -> ModelChoice:
    """Validate, choose, and fit the choice on every close (see the module's docstring). The
    first candidate in the ranking whose fit on every close succeeds is used; ``ModelError``
    only when even the fallback cannot be made (fewer than 20 returns)."""
    gaps = np.asarray(gaps)
    cut = validation_cut(pd.DatetimeIndex(closes.index))
    summary, cached = None, False
    spec = ValidationSpec(paths=paths, seed=seed, band=rules.daily_band,
                          min_observations=min_observations)  # fmt: skip
    if cut is not None:
        upto = int(closes.index.get_loc(cut)) + 1
        spec = _reachable(spec, pd.DatetimeIndex(closes.index[:upto]), gaps[:upto])
        summary, cached = _validated(closes.iloc[:upto], gaps[:upto], rules, spec, cache_dir)
    if summary is None:
        params, _ = FALLBACK.fit(closes, gaps, min_observations)
        reason = (
            f"no origin to validate from: the history has {len(closes) - 1} returns and an "
            f"origin needs {min_observations} before a month-end: the short-history model "
            "(GARCH(1,1)-normal, alpha 0.05, beta 0.90, scaled to the realised variance)"
        )
        return ModelChoice(params, None, FALLBACK.name, reason, {}, None, False)
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
        return ModelChoice(params, diagnostics, name, reason, summary,
                           cut.date().isoformat(), cached)  # fmt: skip
    raise ModelError(
        "no validated candidate could be fitted on every close: " + "; ".join(failures)
    )
