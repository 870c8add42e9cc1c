"""The one place numba is imported: ``CARBON_DISABLE_NUMBA=1`` turns every kernel back into its
plain Python twin (slow, but steppable in a debugger and testable line by line)."""

from __future__ import annotations

import functools
import os

DISABLED = os.environ.get("CARBON_DISABLE_NUMBA", "") not in ("", "0")

if DISABLED:
    import numpy as np

    def _as_compiled(function):
        """The twin computes as the compiled kernel does: 64-bit integers wrap and floats
        overflow to infinity without a word, where NumPy's scalars would warn (the random
        streams' arithmetic wraps on purpose)."""

        @functools.wraps(function)
        def twin(*args, **kwargs):
            with np.errstate(over="ignore"):
                return function(*args, **kwargs)

        return twin

    def njit(*args, **kwargs):
        if len(args) == 1 and callable(args[0]) and not kwargs:
            return _as_compiled(args[0])
        return _as_compiled

    prange = range
else:
    from numba import njit, prange  # noqa: F401
