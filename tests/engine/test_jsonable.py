"""``engine.jsonable``: the one rule every JSON output of the project goes through."""

import datetime as dt
import json

import numpy as np
import pandas as pd

from engine.jsonable import jsonable


def test_nan_and_infinities_become_null_at_any_depth():
    value = {"a": float("nan"), "b": [1.5, float("inf")], "c": {"d": (np.float64("-inf"),)}}
    assert jsonable(value) == {"a": None, "b": [1.5, None], "c": {"d": [None]}}


def test_numpy_and_pandas_values_become_python_ones():
    out = jsonable(
        {
            "n": np.int64(3),
            "x": np.float32(0.5),
            "arr": np.array([1.0, np.nan]),
            "day": pd.Timestamp("2024-12-31"),
            "at": pd.Timestamp("2024-12-31 15:00"),
        }
    )
    assert out["arr"] == [1.0, None] and out["day"] == "2024-12-31"
    assert out == {"n": 3, "x": 0.5, "arr": [1.0, None], "day": "2024-12-31",
                   "at": "2024-12-31T15:00:00"}  # fmt: skip
    assert type(out["n"]) is int and type(out["x"]) is float


def test_keys_become_text_dates_iso_and_the_rest_its_text():
    out = jsonable({1: dt.date(2025, 1, 2), "p": pd.Period("2025-01", "M"), "none": None})
    assert out == {"1": "2025-01-02", "p": "2025-01", "none": None}
    json.dumps(out, allow_nan=False)  # strict JSON: would raise on a NaN left behind
