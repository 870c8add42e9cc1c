"""The scenario tree: nested groups, splits by price at evenly spread dates, node means."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from engine.errors import ConfigurationError
from engine.tree import _upper_half, scenario_tree


def random_prices(n: int, dates: int, seed: int) -> np.ndarray:
    rng = np.random.Generator(np.random.PCG64(seed))
    steps = np.hstack([np.zeros((n, 1)), rng.normal(0.0, 0.04, (n, dates - 1))])
    return 70.0 * np.exp(np.cumsum(steps, axis=1))


def test_the_default_tree_of_1000_scenarios_and_26_dates():
    prices = random_prices(1_000, 26, seed=0)
    tree = scenario_tree(prices, np.full(1_000, 1e-3), 128)
    # 7 binary splits, every 4 dates from date 1, the last on the deadline date: 128 leaves
    np.testing.assert_array_equal(tree.split_dates(), [1, 5, 9, 13, 17, 21, 25])
    per_date = np.bincount(tree.date)
    assert per_date[0] == 1 and per_date[-1] == 128 and tree.count == per_date.sum() == 633
    # nested: a scenario's node at d is the child of its node at d - 1; node 0 is today
    assert (tree.node[:, 0] == 0).all() and tree.parent[0] == -1
    for d in range(1, 26):
        assert (tree.parent[tree.node[:, d]] == tree.node[:, d - 1]).all()
        assert (tree.date[tree.node[:, d]] == d).all()
    # every date's node weights are a distribution
    np.testing.assert_allclose(np.bincount(tree.date, weights=tree.weight), 1.0, rtol=1e-12)
    # 1,000 scenarios halve 7 times into groups of 7 to 9 (1,024 would give 8 each)
    np.testing.assert_allclose(tree.weight[tree.nodes_at(25)], 1 / 128, atol=1.2e-3)
    sizes = np.bincount(tree.node[:, 25])[tree.nodes_at(25)]
    assert sizes.min() >= 7 and sizes.max() <= 9


def test_a_split_puts_the_cheaper_half_below_the_dearer_half():
    prices = random_prices(300, 10, seed=1)
    weights = np.random.Generator(np.random.PCG64(2)).dirichlet(np.ones(300))
    tree = scenario_tree(prices, weights, 8)
    for d in tree.split_dates():
        for parent in tree.nodes_at(d - 1):
            members = np.flatnonzero(tree.node[:, d - 1] == parent)
            children = np.unique(tree.node[members, d])
            assert children.size == 2
            low, high = (members[tree.node[members, d] == c] for c in children)
            assert prices[low, d].max() < prices[high, d].min()
            # the lower child holds the scenarios whose weight below them is under half
            order = members[np.argsort(prices[members, d])]
            before = np.cumsum(weights[order]) - weights[order]
            expected_low = order[before < 0.5 * weights[members].sum()]
            assert set(low) == set(expected_low)


def test_equal_prices_stay_together_and_a_group_of_two_prices_always_splits():
    rng = np.random.Generator(np.random.PCG64(3))
    for _ in range(300):
        n = int(rng.integers(1, 12))
        group = rng.integers(0, 3, n)
        price = rng.integers(0, 4, n).astype(float)  # many ties
        weights = rng.dirichlet(np.ones(n)) if rng.uniform() < 0.7 else np.zeros(n)
        upper = _upper_half(group, price, weights)
        for g in np.unique(group):
            here = group == g
            lows, highs = price[here & (upper == 0)], price[here & (upper == 1)]
            if lows.size and highs.size:
                assert lows.max() < highs.min()
            distinct = np.unique(price[here]).size
            assert (lows.size > 0 and highs.size > 0) == (distinct > 1)


def test_need_splits_on_the_need_date_put_the_smaller_needs_below():
    prices = random_prices(400, 10, seed=6)
    need = np.random.Generator(np.random.PCG64(7)).normal(1e6, 5e4, 400)
    tree = scenario_tree(prices, np.full(400, 1 / 400), 4, need=need, need_date=5, need_splits=2)
    # price splits at dates 9 and 1; on date 5 every node splits twice by need: 8 then 16 leaves
    np.testing.assert_array_equal(np.bincount(tree.date), [1, 2, 2, 2, 2, 8, 8, 8, 8, 16])
    for parent in tree.nodes_at(4):
        members = np.flatnonzero(tree.node[:, 4] == parent)
        quarters = [members[tree.node[members, 5] == c] for c in np.unique(tree.node[members, 5])]
        assert [q.size for q in quarters] == [members.size // 4] * 4
        for lower, upper in itertools.pairwise(quarters):
            assert need[lower].max() < need[upper].min()
    # a need date of 0 (known today) splits on date 1: today is one decision
    tree = scenario_tree(prices, np.full(400, 1 / 400), 1, need=need, need_date=0, need_splits=1)
    np.testing.assert_array_equal(np.bincount(tree.date), [1] + [2] * 9)


def test_small_trees():
    # one scenario: one node a date
    tree = scenario_tree(random_prices(1, 5, seed=0), np.ones(1), 128)
    np.testing.assert_array_equal(tree.node[0], [0, 1, 2, 3, 4])
    # two scenarios at one price until the last date split there, not before
    prices = np.array([[60.0, 60.0, 40.0], [60.0, 60.0, 80.0]])
    tree = scenario_tree(prices, np.full(2, 0.5), 128)
    np.testing.assert_array_equal(tree.node, [[0, 1, 2], [0, 1, 3]])
    # one leaf: no split at all
    tree = scenario_tree(random_prices(50, 6, seed=0), np.full(50, 0.02), 1)
    assert tree.count == 6
    # leaves not a power of two: the largest power of two within them
    tree = scenario_tree(random_prices(1_000, 26, seed=0), np.full(1_000, 1e-3), 100)
    assert tree.nodes_at(25).size == 64
    # more leaves than dates allow: one split a date
    tree = scenario_tree(random_prices(1_000, 4, seed=0), np.full(1_000, 1e-3), 128)
    np.testing.assert_array_equal(np.bincount(tree.date), [1, 2, 4, 8])


def test_node_means_against_pandas_and_the_ancestry():
    prices = random_prices(200, 8, seed=4)
    weights = np.random.Generator(np.random.PCG64(5)).dirichlet(np.ones(200))
    tree = scenario_tree(prices, weights, 16)
    frame = pd.DataFrame(
        {
            "node": tree.node.ravel(),
            "wp": (prices * weights[:, None]).ravel(),
            "w": np.repeat(weights, 8),
        }
    )
    sums = frame.groupby("node")[["wp", "w"]].sum()
    np.testing.assert_allclose(tree.mean(prices), sums["wp"] / sums["w"], rtol=1e-12)
    np.testing.assert_allclose(tree.weight, sums["w"], rtol=1e-12)
    ancestry = tree.ancestry().toarray()
    for n in range(tree.count):  # the row of a node: itself and its ancestors to the root
        path, walk = set(), n
        while walk >= 0:
            path.add(walk)
            walk = tree.parent[walk]
        assert set(np.flatnonzero(ancestry[n])) == path


@pytest.mark.parametrize(("leaves", "splits"), [(0, 0), (-3, 0), (2.5, 0), (True, 0), (4, -1)])
def test_impossible_leaves_are_refused(leaves, splits):
    with pytest.raises(ConfigurationError, match=r"tree (leaves|need splits)"):
        scenario_tree(random_prices(10, 4, seed=0), np.full(10, 0.1), leaves, need_splits=splits)
