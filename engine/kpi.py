"""The monitoring KPIs of GB/T 46412-2025 for one entity, each against its target.

- carbon-asset return: the change in market value of the carbon assets held (allowances, CCER,
  and the forwards' gain against their price) since the cycle's first session, as a share of
  their value then (the holdings are today's: a position return, not a fund's);
- compliance-cost saving: what the plan saves, out of sample, against buying at the deadline
  (CNY: the difference of their expected costs; a share would mislead, as a cost can be near
  zero or negative when the bank's value outweighs the purchases);
- expected compliance cost: the plan's, out of sample (CNY: purchases - sales + fees + impact
  + penalty - value banked);
- reduction completion: the share of the targeted intensity reduction achieved (1 is the
  target met), from the base-year intensity and the book's expected intensity;
- coverage: (allowances + forwards + usable CCER + expected true-up) / expected emissions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from engine.book import ComplianceBook


@dataclass(frozen=True)
class Kpi:
    """One KPI. ``met`` is ``None`` when no target is set; ``higher_is_better`` says which way
    the target bounds the value."""

    name: str
    value: float
    unit: str
    target: float | None
    higher_is_better: bool
    note: str

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        return self.value >= self.target if self.higher_is_better else self.value <= self.target

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "met": self.met}


def carbon_asset_return(book: ComplianceBook, start_price: float, price: float) -> float:
    """Value now over value at ``start_price``, minus one (CCER valued at the CEA price)."""
    tonnes = book.allowances_t + book.ccer_t
    forwards_gain = sum(f.tonnes * (price - f.price) for f in book.forwards)
    then = tonnes * start_price
    return (tonnes * price + forwards_gain - then) / then if then > 0 else 0.0


def reduction_completion(intensity: float, base: float, reduction: float) -> float:
    """Achieved reduction of intensity against ``base``, as a share of the targeted one."""
    return (base - intensity) / (base * reduction) if base > 0 and reduction > 0 else 0.0


def entity_kpis(
    book: ComplianceBook,
    *,
    start_price: float,
    price: float,
    plan_cost: float,
    deadline_cost: float,
    targets: Any,
) -> tuple[Kpi, ...]:
    """The KPIs of one entity; ``targets`` has the attributes of ``desk.config.Targets``."""
    kpis = [
        Kpi("carbon-asset return", carbon_asset_return(book, start_price, price), "share",
            targets.carbon_asset_return, True,
            f"holdings and forwards at {price:.2f} against {start_price:.2f} at the cycle's start"),
        Kpi("compliance-cost saving", deadline_cost - plan_cost, "CNY", targets.cost_saving_min,
            True, "expected cost of buying in the last weeks minus the plan's, out of sample"),
        Kpi("expected compliance cost", plan_cost, "CNY", targets.compliance_cost_max, False,
            "purchases - sales + fees + impact + penalty - banked value, out of sample"),
        Kpi("coverage", book.coverage(), "ratio", targets.coverage_min, True,
            "(allowances + forwards + usable CCER + expected true-up) / expected emissions"),
    ]  # fmt: skip
    if targets.intensity_reduction is not None and targets.intensity_base is not None:
        by = f" by {targets.intensity_target_year}" if targets.intensity_target_year else ""
        kpis.append(
            Kpi(
                "reduction completion",
                reduction_completion(
                    book.obligation.intensity, targets.intensity_base, targets.intensity_reduction
                ),
                "share",
                1.0,
                True,
                f"intensity {book.obligation.intensity:g} t/unit against "
                f"{targets.intensity_base:g}, target -{targets.intensity_reduction:.0%}{by}",
            )
        )
    return tuple(kpis)
