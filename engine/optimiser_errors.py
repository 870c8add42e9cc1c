"""How the compliance optimiser fails, and says why.

``solve_with_fallback`` solves with a named primary solver, retries once with a named fallback,
catches the solvers' warnings as notes, and maps what is left to ``SolverFailed``.
``diagnose_infeasible`` explains an infeasible program: a phase-1 program gives each constraint
family (trading budget, reserve floor, liquidity cap, pledge, non-negative holdings on every date
and at the deadline, expected-cost budget) a nonnegative slack with a weight; a deletion filter
over the families finds a set that cannot hold together, and a solve per family in it says by
how much that family, alone, would have to give. The answer is an ``Infeasible`` error naming
the families and the amounts.
"""

from __future__ import annotations

import time
import warnings
from typing import Any, NamedTuple

import cvxpy as cp
import numpy as np

from engine.errors import Infeasible, OptimisationError, SolverFailed
from engine.optimiser_settings import FALLBACK_SOLVER, SOLVER  # noqa: F401 (named here too)

SOLVER_OPTIONS: dict[str, dict[str, Any]] = {
    "CLARABEL": {},
    "SCS": {"eps_abs": 1e-6, "eps_rel": 1e-6, "max_iters": 100_000},
}

TRADING_BUDGET = "trading budget"
RESERVE_FLOOR = "reserve floor"
LIQUIDITY = "liquidity cap"
PLEDGE = "pledge"
HOLDINGS = "non-negative holdings"
COST_BUDGET = "expected-cost budget"
DELETION_ORDER = (COST_BUDGET, RESERVE_FLOOR, PLEDGE, HOLDINGS, TRADING_BUDGET, LIQUIDITY)
"""Order in which the diagnosis tries to drop families: when several sets of families conflict,
the later a family comes here, the likelier it is named."""
INFEASIBLE_STATUSES = (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE)
SLACK_TOLERANCE = 1e-6
"""A slack counts as positive above this, in the program's scaled units (a millionth of the
expected emissions, or of their value at today's price)."""
INACCURATE_TOLERANCE = 1e-5
"""An ``optimal_inaccurate`` answer is accepted from the fallback when no constraint is violated
by more than this (scaled units, as above)."""
HARD_WEIGHT = 1e3
"""Weight of the other families' slacks when one family's own relaxation is measured."""


class SolveOutcome(NamedTuple):
    solver: str
    status: str
    seconds: float
    notes: tuple[str, ...]


def solve_with_fallback(
    problem: cp.Problem,
    solvers: tuple[str, str],
    what: str,
    warm_start: bool = True,
    canon_backend: str | None = None,
) -> SolveOutcome:
    """Solve ``problem`` with ``solvers[0]``, retrying once with ``solvers[1]`` when the status is
    not optimal (the fallback's ``optimal_inaccurate`` is accepted when its constraints hold to
    ``INACCURATE_TOLERANCE``). Warnings are caught and come
    back as notes. ``warm_start`` lets cvxpy hand the new data to the solver of the last solve
    (Clarabel keeps that solve's equilibration: answers then differ within its tolerance from a
    fresh solver's). ``canon_backend`` is cvxpy's compiler (``None``: its default). An
    infeasible status comes back for the caller to diagnose; any other failure raises
    ``SolverFailed`` naming both solvers and their statuses."""
    started = time.perf_counter()
    notes: list[str] = []
    attempts: list[tuple[str, str]] = []
    for solver in solvers:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                problem.solve(
                    solver=solver, warm_start=warm_start, canon_backend=canon_backend,
                    **SOLVER_OPTIONS.get(solver, {}),
                )  # fmt: skip
                status = str(problem.status)
            except cp.error.SolverError as exc:
                status = f"solver error ({exc})"
        notes += [f"{solver}: {item.message}" for item in caught]
        if status == cp.OPTIMAL_INACCURATE:
            violation = max(float(np.max(c.violation(), initial=0.0)) for c in problem.constraints)
            if violation > INACCURATE_TOLERANCE:
                status = f"{status} (a constraint violated by {violation:.1e})"
        attempts.append((solver, status))
        accepted = (cp.OPTIMAL, cp.INFEASIBLE)
        accepted += (cp.OPTIMAL_INACCURATE,) if len(attempts) == len(solvers) else ()
        if status in accepted:
            return SolveOutcome(solver, status, time.perf_counter() - started, tuple(notes))
    if all(status in INFEASIBLE_STATUSES for _, status in attempts):
        seconds = time.perf_counter() - started
        return SolveOutcome(attempts[-1][0], cp.INFEASIBLE, seconds, tuple(notes))
    tried = "; then the fallback ".join(
        f"{solver} returned {status}" for solver, status in attempts
    )
    raise SolverFailed(
        f"{what}: {tried}. Try fewer scenarios, look for outliers in the prices and tonnes, or "
        "loosen the constraints"
    )


def diagnose_infeasible(
    phase1: Any,
    solvers: tuple[str, str],
    values: dict[str, float | None],
    units: dict[str, float],
    pledged_t: float,
) -> OptimisationError:
    """The error to raise for an infeasible program.

    ``phase1`` is the phase-1 program, its Parameters set: ``.problem``, ``.slack`` (family ->
    nonnegative scalar Variable, bounded) and ``.slack_weight`` (family -> Parameter), with the
    weighted slack as its objective. ``units`` turns a slack into tonnes or CNY; ``values`` are
    the Parameter values the program was solved with (for the message)."""
    families = list(phase1.slack)

    def slacks(weights: dict[str, float]) -> dict[str, float]:
        for family, parameter in phase1.slack_weight.items():
            parameter.value = weights[family]
        outcome = solve_with_fallback(phase1.problem, solvers, "the phase-1 (diagnosis) program")
        if outcome.status in INFEASIBLE_STATUSES:
            raise SolverFailed(
                "the phase-1 program, every constraint family relaxed, is still infeasible: "
                "a constraint outside the families cannot hold; check the inputs"
            )
        return {f: max(float(phase1.slack[f].value), 0.0) for f in families}

    if max(slacks(dict.fromkeys(families, 1.0)).values()) <= SLACK_TOLERANCE:
        return SolverFailed(
            f"{solvers[0]} called the compliance program infeasible, but relaxing its constraint "
            "families found nothing to relax: a numerical failure; try rescaling the inputs"
        )
    kept = [f for f in DELETION_ORDER if f in families]
    for family in list(kept):
        trial = [f for f in kept if f != family]
        relaxed = slacks({f: float(f in trial) for f in families})
        if sum(relaxed[f] for f in trial) > SLACK_TOLERANCE:
            kept = trial  # infeasible even without this family: not needed to explain it
    needs = {}
    for family in kept:
        # What this family must give when the other conflicting families hold; families outside
        # the conflict may give freely (they are not what makes the plan impossible).
        weights = {f: 1.0 if f == family else HARD_WEIGHT if f in kept else 0.0 for f in families}
        needs[family] = slacks(weights)[family] * units[family]
    parts = [_describe(f, needs[f], values, pledged_t) for f in kept]
    if len(kept) == 1:
        message = f"infeasible: the {kept[0]} cannot hold: {parts[0]}."
    else:
        names = ", ".join(f"the {f}" for f in kept[:-1]) + f" and the {kept[-1]}"
        both = "both" if len(kept) == 2 else "all"
        message = (
            f"infeasible: {names} cannot {both} hold. What each would have to give, alone: "
            + "; or ".join(parts)
            + "."
        )
    return Infeasible(message, families=tuple(kept), relaxations=needs)


def _describe(family: str, amount: float, values: dict[str, Any], pledged_t: float) -> str:
    if family == TRADING_BUDGET:
        return (
            f"the trading budget (CNY {values['trading_budget']:,.0f}) would need CNY "
            f"{amount:,.0f} more to buy what the other constraints require"
        )
    if family == RESERVE_FLOOR:
        return (
            f"the reserve floor ({values['reserve_floor_t']:,.0f} t) would have to come down by "
            f"{amount:,.0f} t: holdings cannot reach it on every date"
        )
    if family == LIQUIDITY:
        return (
            f"the liquidity cap ({values['liquidity_t']:,.0f} t per date and side) would need "
            f"{amount:,.0f} t more"
        )
    if family == PLEDGE:
        return (
            f"the pledged allowances ({pledged_t:,.0f} t, which may not be sold) would have to "
            f"be {amount:,.0f} t fewer"
        )
    if family == HOLDINGS:
        return (
            f"holdings would go {amount:,.0f} t below zero, on some date or at the deadline (a "
            "true-up that takes back more than is held)"
        )
    return (
        f"the expected-cost budget (CNY {values['cost_budget']:,.0f}) would need CNY "
        f"{amount:,.0f} more"
    )
