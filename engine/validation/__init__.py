"""Model validation: rolling-origin forecasts scored against what happened, VaR backtests,
and the choice of a volatility model by its out-of-sample forecasts. Pure: no files."""

from engine.validation.backtests import (
    TestResult,
    TrafficLight,
    basel_traffic_light,
    berkowitz,
    christoffersen_conditional_coverage,
    christoffersen_independence,
    ks_uniform,
    kupiec_pof,
)
from engine.validation.choice import ValidationResult, validate
from engine.validation.pick import Picked, pick_model
from engine.validation.rolling import (
    CANDIDATES,
    FALLBACK,
    HORIZONS,
    Candidate,
    CandidateScores,
    ValidationSpec,
    candidate,
    evaluate_candidate,
    month_end_origins,
)
from engine.validation.scores import crps, inside, pit

__all__ = [
    "CANDIDATES",
    "FALLBACK",
    "HORIZONS",
    "Candidate",
    "CandidateScores",
    "Picked",
    "TestResult",
    "TrafficLight",
    "ValidationResult",
    "ValidationSpec",
    "basel_traffic_light",
    "berkowitz",
    "candidate",
    "christoffersen_conditional_coverage",
    "christoffersen_independence",
    "crps",
    "evaluate_candidate",
    "inside",
    "ks_uniform",
    "kupiec_pof",
    "month_end_origins",
    "pick_model",
    "pit",
    "validate",
]
