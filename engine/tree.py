"""The scenario tree of the compliance optimiser: which scenarios share a decision at each date.

A later decision may depend only on what the desk has seen by then. The tree groups the scenarios
into nodes: at date 0 one node (today), and at each later date every node either carries on
unchanged or splits in two by that date's price (the cheaper half of its weight and the dearer
half). Groups are nested, so the scenarios of a node share their whole history of decisions and
the holdings those decisions leave. The optimiser decides once per node, not once per scenario:
the recourse no longer sees a scenario's future, and the program is small.

Splits are spread evenly over the dates 1..D-1, the last on the last date, until the last date
has ``leaves`` nodes (fewer when there are fewer scenarios, or scenarios at equal prices): with
26 dates and 128 leaves, a split every 4 dates from date 1. Scenarios at the same price on a
split date cannot be told apart and stay together.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from engine.errors import ConfigurationError


@dataclass(frozen=True, eq=False)
class ScenarioTree:
    """Nested groups of scenarios per decision date.

    Attributes:
        node: S x D, the node of scenario s at date d (column 0 is 0, the root: today).
        date: N, the date of each node; nodes are numbered date by date.
        parent: N, each node's parent (-1 for the root).
        weight: N, the probability of each node (the weights of its scenarios).
        scenario_weight: S, the scenarios' weights.
    """

    node: np.ndarray
    date: np.ndarray
    parent: np.ndarray
    weight: np.ndarray
    scenario_weight: np.ndarray

    @property
    def count(self) -> int:
        """N, the number of nodes (decisions per trade variable)."""
        return self.date.size

    def nodes_at(self, date: int) -> np.ndarray:
        """The nodes of one date."""
        return np.flatnonzero(self.date == date)

    def mean(self, values: np.ndarray) -> np.ndarray:
        """N: the mean of S x D ``values`` over each node's scenarios at its date, weighted by
        the scenarios' weights (plain where the node's weight is zero)."""
        where, flat = self.node.ravel(), values.ravel()
        weights = np.repeat(self.scenario_weight, self.node.shape[1])
        weighted = np.bincount(where, weights=weights * flat, minlength=self.count)
        plain = np.bincount(where, weights=flat, minlength=self.count)
        plain /= np.bincount(where, minlength=self.count)
        positive = self.weight > 0
        return np.where(positive, weighted / np.where(positive, self.weight, 1.0), plain)

    def ancestry(self) -> sparse.csr_array:
        """N x N: 1 where the column's node is the row's node or one of its ancestors."""
        rows, cols = [np.arange(self.count)], [np.arange(self.count)]
        above = self.parent.copy()
        while (above >= 0).any():
            below = np.flatnonzero(above >= 0)
            rows.append(below)
            cols.append(above[below])
            above = np.where(above >= 0, self.parent[np.maximum(above, 0)], -1)
        rows_, cols_ = np.concatenate(rows), np.concatenate(cols)
        return sparse.csr_array((np.ones(rows_.size), (rows_, cols_)), shape=(self.count,) * 2)

    def split_dates(self) -> np.ndarray:
        """The dates at which some node splits."""
        counts = np.bincount(self.date)
        return np.flatnonzero(np.diff(counts) > 0) + 1


def scenario_tree(
    prices: np.ndarray,
    weights: np.ndarray,
    leaves: int,
    need: np.ndarray | None = None,
    need_date: int = 1,
    need_splits: int = 0,
) -> ScenarioTree:
    """Build the tree of S x D ``prices`` (column 0 today) with scenario ``weights``: at most
    ``leaves`` nodes at the last date from splits by price (the largest power of two within
    it), each of them split ``need_splits`` times more by the S values ``need`` on
    ``need_date`` (date 1 when it is 0: today is one decision)."""
    for name, value, least in (("leaves", leaves, 1), ("need splits", need_splits, 0)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < least:
            raise ConfigurationError(f"tree {name} = {value!r}: must be a whole number >= {least}")
    S, D = prices.shape
    need_date = max(need_date, 1)
    # as many halvings as ``leaves`` allows (2^splits <= leaves), and no more than separate
    # every scenario or fit in the dates
    splits = min(int(math.log2(leaves)), math.ceil(math.log2(S)), D - 1)
    split_at = set(np.floor(np.linspace(D - 1, 1, splits) + 0.5).astype(int).tolist())
    node = np.zeros((S, D), dtype=np.int64)
    date, parent = [0], [-1]
    current = np.zeros(S, dtype=np.int64)  # node index within the previous date
    first = 0  # id of the previous date's first node
    for d in range(1, D):
        child = current * 2
        if d in split_at:
            child += _upper_half(current, prices[:, d], weights)
        shift = 1
        if need is not None and d == need_date:  # each node splits by need, in turn
            for _ in range(need_splits):
                child = child * 2 + _upper_half(child, need, weights)
                shift *= 2
        labels, local = np.unique(child, return_inverse=True)
        parents = first + labels // (2 * shift)
        first = len(date)
        node[:, d] = first + local
        date += [d] * labels.size
        parent += parents.tolist()
        current = local
    date_array = np.asarray(date, dtype=np.int64)
    weight = np.bincount(node.ravel(), weights=np.repeat(weights, D), minlength=date_array.size)
    return ScenarioTree(
        node=node, date=date_array, parent=np.asarray(parent, dtype=np.int64), weight=weight,
        scenario_weight=weights,
    )  # fmt: skip


def _upper_half(group: np.ndarray, price: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """1 for the scenarios in the dearer half of their group's weight at this price, 0 for the
    cheaper half. A group with two prices or more always splits; scenarios at one price stay
    together (a group all at one price does not split)."""
    order = np.lexsort((np.arange(group.size), price, group))
    g, w, p = group[order], weights[order], price[order]
    start = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    sizes = np.diff(np.r_[start, g.size])
    cumulative = np.cumsum(w)
    before = cumulative - w - np.repeat(np.r_[0.0, cumulative[start[1:] - 1]], sizes)
    total = np.repeat(np.add.reduceat(w, start), sizes)
    upper = before >= 0.5 * total * (1.0 - 1e-12)  # an exact half up, whatever the rounding
    last = np.r_[start[1:] - 1, g.size - 1]
    # scenarios at the same price cannot be told apart: a run of ties takes its last one's side
    same = np.r_[False, (g[1:] == g[:-1]) & (p[1:] == p[:-1])]
    run_end = np.r_[np.flatnonzero(~same[1:]), g.size - 1]  # the last index of each run
    run = np.cumsum(~same) - 1  # each scenario's run
    upper = upper[run_end[run]]
    # a group with two prices or more splits: its first run below, its last run above
    in_first, in_last = run == run[start].repeat(sizes), run == run[last].repeat(sizes)
    split = np.repeat(run[start] != run[last], sizes)
    ups = np.repeat(np.add.reduceat(upper.astype(np.int64), start), sizes)
    upper[split & (ups == sizes.repeat(sizes)) & in_first] = False
    upper[split & (ups == 0) & in_last] = True
    result = np.empty(group.size, dtype=np.int64)
    result[order] = upper
    return result
