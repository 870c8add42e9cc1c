"""One rule for turning results into JSON: the run records, the plans, the alerts (and their
audit entries), the backtests' metrics and every ``--json`` output go through ``jsonable``.

Pure, and no numerical library is imported: numpy and pandas values are recognised by what
they offer (``tolist``, ``isoformat``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any


def jsonable(value: Any) -> Any:
    """``value`` as JSON can hold it: mappings with text keys, lists (tuples too), finite
    numbers (NaN and infinities become null: JSON has none), dates as ISO text (a time of day
    of midnight is left out: ``2024-12-31``), numpy scalars and arrays as Python numbers and
    lists; anything else as its text."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dt.datetime):  # pandas' Timestamp too
        midnight = value.tzinfo is None and value.time() == dt.time()
        return value.date().isoformat() if midnight else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if hasattr(value, "dtype") and hasattr(value, "tolist"):  # a numpy scalar or array
        return jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
