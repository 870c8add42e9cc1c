"""Merging two sources of the same market: prefer one, fill its gaps from the other, and say
where they disagree."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from market_data.errors import DataError
from market_data.frame import NUMERIC_COLUMNS


@dataclass(frozen=True)
class Merged:
    """The merged frame and what the merge found.

    ``frame`` has the tidy columns plus ``source`` (which input each row came from) and
    ``price_basis``. ``disagreements`` has one row per date and column where both inputs have a
    value and they differ by more than the tolerance (``primary``, ``secondary``,
    ``relative_difference``). ``basis_changes`` lists each date where the price basis changes,
    with the basis before and after.
    """

    frame: pd.DataFrame
    disagreements: pd.DataFrame
    filled: pd.DatetimeIndex
    basis_changes: pd.DataFrame


def merge_sources(
    primary: pd.DataFrame,
    secondary: pd.DataFrame,
    *,
    tolerance: float = 0.001,
    compare: tuple[str, ...] = ("close", "open", "high", "low"),
) -> Merged:
    """Rows of ``primary`` where it has them, rows of ``secondary`` on the dates it lacks.

    Args:
        primary, secondary: tidy frames of the same market (``frame.attrs["market"]``).
        tolerance: relative difference above which two values of one date disagree (0.001 is
            0.1 %).
        compare: the columns compared on dates both inputs have.

    A row from a source without a price basis takes the basis in force at its date in either
    source (the last one before it, else the first after it), so the basis change stays where
    the exchange made it whichever source is preferred.
    """
    for name in ("market", "currency"):
        a, b = primary.attrs.get(name), secondary.attrs.get(name)
        if a is not None and b is not None and a != b:
            raise DataError(f"cannot merge sources of different {name}: {a!r} and {b!r}")
    if tolerance < 0:
        raise DataError(f"merge tolerance must not be negative, got {tolerance}")
    name_a = str(primary.attrs.get("source", "primary"))
    name_b = str(secondary.attrs.get("source", "secondary"))

    common = primary.index.intersection(secondary.index)
    records = []
    for column in compare:
        a = primary.loc[common, column].to_numpy()
        b = secondary.loc[common, column].to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            difference = np.abs(a / b - 1)
        for i in np.flatnonzero(difference > tolerance):
            records.append((common[i], column, a[i], b[i], difference[i]))
    disagreements = (
        pd.DataFrame(
            records, columns=["date", "column", "primary", "secondary", "relative_difference"]
        )
        .set_index("date")
        .sort_index(kind="stable")
    )

    filled = secondary.index.difference(primary.index)
    columns = list(NUMERIC_COLUMNS)
    top = primary[columns].assign(source=name_a, price_basis=_basis(primary))
    bottom = secondary.loc[filled, columns].assign(
        source=name_b, price_basis=_basis(secondary).loc[filled]
    )
    frame = pd.concat([top, bottom]).sort_index()
    # A row whose source has no basis takes the basis in force at its date in either source
    # (the primary's on dates both have): the last known before it, else the first after it.
    known = _basis(primary).combine_first(_basis(secondary)).dropna()
    if len(known):
        inferred = known.reindex(frame.index.union(known.index)).ffill().bfill()
        frame["price_basis"] = frame["price_basis"].fillna(inferred.reindex(frame.index))
    frame.attrs = {**primary.attrs, "source": f"{name_a} + {name_b}", "format": "merged"}
    return Merged(
        frame=frame,
        disagreements=disagreements,
        filled=filled,
        basis_changes=basis_changes(frame),
    )


def _basis(frame: pd.DataFrame) -> pd.Series:
    if "price_basis" in frame.columns:
        return frame["price_basis"].astype("object").where(frame["price_basis"].notna(), None)
    return pd.Series(None, index=frame.index, dtype="object")


def basis_changes(frame: pd.DataFrame) -> pd.DataFrame:
    """Dates where ``price_basis`` differs from the row before, with the basis before and after."""
    if "price_basis" not in frame.columns:
        return pd.DataFrame(columns=["before", "after"], index=pd.DatetimeIndex([], name="date"))
    basis = frame["price_basis"].astype("object")
    before = basis.shift(1)
    changed = basis.notna() & before.notna() & (basis != before)
    return pd.DataFrame({"before": before[changed], "after": basis[changed]})
