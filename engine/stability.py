"""How much tonight's decision depends on the scenarios the optimiser happened to see.

The full simulation is cut into ``sets`` disjoint sets of paths (path ``i`` goes to set
``i mod sets``); each is reduced to the optimiser's scenario count and solved with the same
settings. The spread of today's decision over the sets is Monte Carlo noise the desk should
know about before it trades: a buy of 40 kt whose sets range from 25 to 60 kt is a different
order from one that ranges from 39 to 41.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.book import ComplianceBook
from engine.errors import ConfigurationError
from engine.optimiser import ComplianceOptimiser
from engine.optimiser_settings import OptimiserSettings
from engine.scenario_build import reduce_scenarios, subset
from engine.scenarios import Scenarios

DECISIONS = ("buy_today_t", "sell_today_t", "forward_t", "ccer_today_t")


@dataclass(frozen=True)
class DecisionSpread:
    """Today's decisions (tonnes) solved on each independent scenario set.

    Attributes:
        decisions: decision name -> one value per set (``DECISIONS``).
        scenarios: scenarios each set was reduced to; ``paths``: paths in each set.
    """

    decisions: dict[str, np.ndarray]
    scenarios: int
    paths: int

    @property
    def sets(self) -> int:
        return int(next(iter(self.decisions.values())).size)

    def to_dict(self) -> dict[str, Any]:
        """Per decision its 5th, 50th and 95th percentiles over the sets, min, max and s.d."""
        out: dict[str, Any] = {"sets": self.sets, "scenarios": self.scenarios, "paths": self.paths}
        for name, values in self.decisions.items():
            p05, median, p95 = np.percentile(values, [5, 50, 95])
            out[name.removesuffix("_today_t").removesuffix("_t") + "_t"] = {
                "p05": float(p05), "median": float(median), "p95": float(p95),
                "min": float(values.min()), "max": float(values.max()),
                "sd": float(values.std(ddof=1)) if values.size > 1 else 0.0,
                "values": values.tolist(),
            }  # fmt: skip
        return out


def decision_spread(
    book: ComplianceBook,
    scenarios: Scenarios,
    settings: OptimiserSettings,
    *,
    sets: int,
    count: int,
) -> DecisionSpread:
    """Today's decisions re-solved on ``sets`` disjoint sets of ``scenarios`` (see module)."""
    if sets < 2:
        raise ConfigurationError(f"a spread needs at least 2 scenario sets, got {sets}")
    per_set = scenarios.count // sets
    if per_set < count:
        raise ConfigurationError(
            f"{scenarios.count} paths make {sets} sets of {per_set}, fewer than the "
            f"{count} scenarios each set is reduced to: simulate more paths or use fewer sets"
        )
    values: dict[str, list[float]] = {name: [] for name in DECISIONS}
    for k in range(sets):
        block = subset(scenarios, np.arange(k, sets * per_set, sets))
        plan = ComplianceOptimiser(book, reduce_scenarios(block, count), settings).solve()
        for name in DECISIONS:
            values[name].append(float(getattr(plan, name)))
    return DecisionSpread({n: np.array(v) for n, v in values.items()}, count, per_set)
