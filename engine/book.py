"""The compliance book of one entity: what it holds, what it owes, and what it has committed.

Quantities are in tonnes of CO2 (one allowance is one tonne), prices and cash in the market's
currency. The book describes *now*; the optimiser decides what to do with it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.errors import ConfigurationError
from engine.markets import market_rules


def _require(ok: bool, where: str, value: object, rule: str) -> None:
    if not ok:
        raise ConfigurationError(f"{where} = {value!r}: {rule}")


def _date(where: str, value: object) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ConfigurationError(f"{where} = {value!r}: not a date (YYYY-MM-DD)") from None


@dataclass(frozen=True)
class Forward:
    """A forward purchase: ``tonnes`` delivered on ``delivery`` at ``price`` per tonne."""

    tonnes: float
    price: float
    delivery: dt.date

    def __post_init__(self) -> None:
        _require(self.tonnes > 0, "forward.tonnes", self.tonnes, "must be positive")
        _require(self.price > 0, "forward.price", self.price, "must be positive")


@dataclass(frozen=True)
class Pledge:
    """Allowances pledged against a loan: they cannot be sold while pledged.

    The loan-to-value ratio is ``loan / (tonnes x price)``; past ``trigger_ltv`` the lender asks
    for attention, past ``call_ltv`` for more collateral (a margin call).
    """

    tonnes: float
    loan: float
    trigger_ltv: float
    call_ltv: float

    def __post_init__(self) -> None:
        _require(self.tonnes > 0, "pledge.tonnes", self.tonnes, "must be positive")
        _require(self.loan >= 0, "pledge.loan", self.loan, "must not be negative")
        _require(
            0 < self.trigger_ltv <= self.call_ltv,
            "pledge.trigger_ltv",
            self.trigger_ltv,
            f"must be positive and at most call_ltv ({self.call_ltv})",
        )

    def ltv(self, price: float) -> float:
        """Loan-to-value at ``price`` per tonne."""
        return self.loan / (self.tonnes * price)

    def price_at(self, ltv: float) -> float:
        """The price per tonne at which the loan-to-value reaches ``ltv``."""
        return self.loan / (self.tonnes * ltv)


@dataclass(frozen=True)
class ObligationScenarios:
    """Per scenario: output, verified emissions (t), free allocation (t) and the true-up still to
    come after the pre-allocation (t; negative when allowances go back)."""

    output: np.ndarray
    emissions: np.ndarray
    allocation: np.ndarray
    true_up: np.ndarray


@dataclass(frozen=True)
class Obligation:
    """What the cycle will demand, moving with output.

    Output (e.g. MWh) is uncertain; verified emissions are intensity x output, with the
    intensity's own uncertainty; free allocation is benchmark x output, of which
    ``preallocation_share`` of benchmark x ``base_output`` (last year's output) was pre-allocated
    and the rest is trued up after verification. Emissions and allocation therefore move
    together across scenarios, as they do in the output-based Chinese ETS.

    Attributes:
        expected_output, base_output: this cycle's expected output and the base year's.
        output_sd_share: s.d. of output as a share of its expectation.
        intensity: expected tonnes of CO2 per unit of output.
        intensity_sd_share: s.d. of the intensity as a share of it.
        benchmark: free allocation per unit of output (t).
        preallocation_share: share of the base-year allocation issued in advance (~0.7).
    """

    expected_output: float
    base_output: float
    output_sd_share: float
    intensity: float
    intensity_sd_share: float
    benchmark: float
    preallocation_share: float = 0.7

    def __post_init__(self) -> None:
        for name in ("expected_output", "base_output", "intensity", "benchmark"):
            _require(getattr(self, name) > 0, f"obligation.{name}", getattr(self, name), ">0")
        for name in ("output_sd_share", "intensity_sd_share"):
            value = getattr(self, name)
            _require(0 <= value < 1, f"obligation.{name}", value, "must lie in [0, 1)")
        _require(
            0 <= self.preallocation_share <= 1,
            "obligation.preallocation_share",
            self.preallocation_share,
            "must lie in [0, 1]",
        )

    @property
    def expected_emissions(self) -> float:
        return self.intensity * self.expected_output

    @property
    def expected_allocation(self) -> float:
        return self.benchmark * self.expected_output

    @property
    def preallocated(self) -> float:
        return self.preallocation_share * self.benchmark * self.base_output

    def scenarios(self, n: int, seed: int) -> ObligationScenarios:
        """``n`` joint scenarios of output, emissions and allocation (normal, truncated at 0)."""
        _require(n >= 1, "scenarios", n, "need at least one")
        rng = np.random.Generator(np.random.PCG64(seed))
        z_output, z_intensity = rng.standard_normal((2, n))
        output = np.maximum(self.expected_output * (1 + self.output_sd_share * z_output), 0.0)
        intensity = np.maximum(self.intensity * (1 + self.intensity_sd_share * z_intensity), 0.0)
        emissions = intensity * output
        allocation = self.benchmark * output
        return ObligationScenarios(output, emissions, allocation, allocation - self.preallocated)


@dataclass(frozen=True)
class ComplianceBook:
    """One entity's position in one compliance cycle.

    Attributes:
        allowances_by_vintage: allowances held now, by vintage year (the pre-allocation received
            included); a vintage after the cycle's year would be borrowing, which no market here
            allows.
        ccer_t: offsets held (tonnes).
        forwards: forward purchases not yet delivered.
        pledges: allowances pledged against loans (part of the holdings, not sellable).
        cash: cash set aside for the carbon book.
        trading_budget: the most the cycle's trading may cost (GB/T 46412's example: CNY 5 m).
        reserve_floor_share: holdings must not fall below this share of expected emissions (the
            standard's "compliance reserve").
    """

    entity: str
    market: str
    cycle_year: int
    allowances_by_vintage: Mapping[int, float]
    ccer_t: float
    forwards: tuple[Forward, ...]
    pledges: tuple[Pledge, ...]
    cash: float
    trading_budget: float
    reserve_floor_share: float
    obligation: Obligation
    notes: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        rules = market_rules(self.market)
        _require(rules.compliance is not None, "book.market", self.market, "has no compliance")
        for vintage, tonnes in self.allowances_by_vintage.items():
            where = f"book.allowances_by_vintage[{vintage}]"
            _require(tonnes >= 0, where, tonnes, "must not be negative")
            _require(
                vintage <= self.cycle_year,
                where,
                vintage,
                f"is after the cycle ({self.cycle_year}): borrowing is not allowed",
            )
        _require(self.ccer_t >= 0, "book.ccer_t", self.ccer_t, "must not be negative")
        _require(self.cash >= 0, "book.cash", self.cash, "must not be negative")
        _require(self.trading_budget >= 0, "book.trading_budget", self.trading_budget, ">= 0")
        _require(
            0 <= self.reserve_floor_share <= 1,
            "book.reserve_floor_share",
            self.reserve_floor_share,
            "must lie in [0, 1]",
        )
        _require(
            self.pledged_t <= self.allowances_t,
            "book.pledges",
            self.pledged_t,
            f"pledge more tonnes than the {self.allowances_t:,.0f} held",
        )
        deadline = rules.compliance.deadline(self.cycle_year)
        for forward in self.forwards:
            _require(
                forward.delivery <= deadline,
                "book.forwards.delivery",
                forward.delivery.isoformat(),
                f"is after the surrender deadline {deadline}",
            )

    @property
    def allowances_t(self) -> float:
        return float(sum(self.allowances_by_vintage.values()))

    @property
    def pledged_t(self) -> float:
        return float(sum(p.tonnes for p in self.pledges))

    @property
    def sellable_t(self) -> float:
        """Allowances that may be sold today (pledged ones may not)."""
        return self.allowances_t - self.pledged_t

    @property
    def forwards_t(self) -> float:
        return float(sum(f.tonnes for f in self.forwards))

    @property
    def deadline(self) -> dt.date:
        compliance = market_rules(self.market).compliance
        assert compliance is not None
        return compliance.deadline(self.cycle_year)

    @property
    def reserve_floor_t(self) -> float:
        return self.reserve_floor_share * self.obligation.expected_emissions

    def coverage(self) -> float:
        """(Allowances + forwards + usable CCER + expected true-up) / expected emissions."""
        compliance = market_rules(self.market).compliance
        assert compliance is not None
        emissions = self.obligation.expected_emissions
        usable_ccer = min(self.ccer_t, compliance.offset_cap_t(emissions))
        expected_true_up = self.obligation.expected_allocation - self.obligation.preallocated
        covered = self.allowances_t + self.forwards_t + usable_ccer + expected_true_up
        return covered / emissions

    def expected_shortfall_t(self) -> float:
        """Tonnes to buy to cover expected emissions (0 when covered)."""
        return max(0.0, (1 - self.coverage()) * self.obligation.expected_emissions)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ComplianceBook:
        """A book from plain data (a parsed TOML file); errors name the key and the value."""
        known = {
            "entity", "market", "cycle_year", "allowances_by_vintage", "ccer_t", "forwards",
            "pledges", "cash", "trading_budget", "reserve_floor_share", "obligation", "notes",
        }  # fmt: skip
        unknown = sorted(set(data) - known)
        _require(not unknown, "book", unknown, f"unknown keys; known: {', '.join(sorted(known))}")
        try:
            obligation = Obligation(**dict(data["obligation"]))
            forwards = tuple(
                Forward(
                    float(f["tonnes"]), float(f["price"]), _date("forward.delivery", f["delivery"])
                )
                for f in data.get("forwards", ())
            )
            pledges = tuple(Pledge(**dict(p)) for p in data.get("pledges", ()))
            vintages = {int(k): float(v) for k, v in dict(data["allowances_by_vintage"]).items()}
            return cls(
                entity=str(data["entity"]),
                market=str(data.get("market", "cea")),
                cycle_year=int(data["cycle_year"]),
                allowances_by_vintage=vintages,
                ccer_t=float(data.get("ccer_t", 0.0)),
                forwards=forwards,
                pledges=pledges,
                cash=float(data.get("cash", 0.0)),
                trading_budget=float(data["trading_budget"]),
                reserve_floor_share=float(data.get("reserve_floor_share", 0.0)),
                obligation=obligation,
                notes=str(data.get("notes", "")),
            )
        except KeyError as exc:
            raise ConfigurationError(f"book: missing key {exc.args[0]!r}") from None
        except TypeError as exc:  # unknown or missing fields of a part
            raise ConfigurationError(f"book: {exc}") from None
        except ValueError as exc:
            if isinstance(exc, ConfigurationError):
                raise
            raise ConfigurationError(f"book: a value is not a number: {exc}") from None
