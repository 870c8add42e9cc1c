"""The volatility model a command uses when none is named: the candidate that the rolling-origin
validation ranks first, refitted on every close.

The validation runs on the closes up to the end of the month before the last close, with
``CHOICE_PATHS`` paths an origin, and is cached by market, settings, a hash of those closes and
a hash of the engine's code: within a month every night reuses it, a new month's first night
validates again (a few seconds), and so does the first night after an upgrade that changed the
engine. A history with no origin to score (fewer than ``min_observations`` returns before
the first month-end) gets the documented short-history model
(``engine.fallback.fallback_params``), never no model.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import engine
from desk.store.files import write_all_atomic
from engine.markets import MarketRules
from engine.validation import CANDIDATES, ValidationSpec
from engine.validation.pick import (
    CHOICE_MIN_OBSERVATIONS,
    CHOICE_PATHS,
    Picked,
    pick_model,
    validate_summary,
)

CACHE_VERSION = 3  # the cached file's layout
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
class ModelChoice(Picked):
    """The model chosen for tonight and why (``engine.validation.pick.Picked``), and whether
    its validation came from the cache (``cached``)."""

    cached: bool = False

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


@functools.cache
def engine_digest() -> str:
    """A hash of the engine's source (models, simulator, validation): a validation cached by
    another version of it is not reused."""
    digest = hashlib.sha256()
    root = Path(engine.__file__).parent
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _key(rules: MarketRules, closes: pd.Series, spec: ValidationSpec) -> str:
    digest = hashlib.sha256()
    digest.update(engine_digest().encode())
    settings = [CACHE_VERSION, rules.code, rules.daily_band, rules.tick,
                [c.name for c in CANDIDATES], spec.paths, spec.seed, spec.min_observations,
                list(spec.horizons)]  # fmt: skip
    digest.update(json.dumps(settings).encode())
    digest.update(pd.DatetimeIndex(closes.index).as_unit("ns").asi8.tobytes())  # any unit
    digest.update(np.ascontiguousarray(closes.to_numpy(np.float64)).tobytes())
    return digest.hexdigest()


def _file_cache(rules: MarketRules, cache_dir: Path | None, hits: list[bool]):
    """A validator that reads and writes the summaries in ``cache_dir`` (``hits`` records
    whether the last call was served from it)."""

    def run(closes: pd.Series, gaps: np.ndarray, spec: ValidationSpec) -> dict[str, Any] | None:
        path = None
        if cache_dir is not None:
            path = cache_dir / f"{rules.code}-{_key(rules, closes, spec)[:24]}.json"
            try:
                summary = json.loads(path.read_text(encoding="utf-8"))
                hits.append(True)
                return summary
            except (OSError, ValueError):
                pass  # not cached yet, or unreadable: validate again
        summary = validate_summary(closes, gaps, spec)
        hits.append(False)
        if path is not None and summary is not None:
            with contextlib.suppress(OSError):  # a cache not written costs time, not the night
                write_all_atomic(
                    {path: lambda p: p.write_text(json.dumps(summary), "utf-8")}, private=True
                )
        return summary

    return run


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
    """Validate (or read the cached validation), choose, and fit the choice on every close
    (``engine.validation.pick_model``). ``ModelError`` only when even the fallback cannot be
    made (fewer than 20 returns)."""
    hits: list[bool] = []
    picked = pick_model(
        closes, gaps, band=rules.daily_band, tick=rules.tick, paths=paths, seed=seed,
        min_observations=min_observations, validator=_file_cache(rules, cache_dir, hits),
    )  # fmt: skip
    cached = bool(hits) and hits[-1] and bool(picked.validation)
    return ModelChoice(**{f.name: getattr(picked, f.name) for f in fields(picked)}, cached=cached)
