"""The one place numba is imported: ``CARBON_DISABLE_NUMBA=1`` turns every kernel back into its
plain Python twin (slow, but steppable in a debugger and testable line by line)."""

from __future__ import annotations

import functools
import os

DISABLED = os.environ.get("CARBON_DISABLE_NUMBA", "") not in ("", "0")

if DISABLED:
    import numpy as np

    _outermost = [True]  # whether no twin is running: only the outermost sets NumPy's state

    def _as_compiled(function):
        """The twin computes as the compiled kernel does: NumPy's 64-bit integers wrap and
        floats overflow to infinity without a word, where NumPy would warn (the random
        streams' arithmetic wraps on purpose)."""

        @functools.wraps(function)
        def twin(*args, **kwargs):
            if not _outermost[0]:
                return function(*args, **kwargs)
            _outermost[0] = False
            try:
                with np.errstate(over="ignore"):
                    return function(*args, **kwargs)
            finally:
                _outermost[0] = True

        twin.py_func = function  # as numba's dispatchers have it
        return twin

    def njit(*args, **kwargs):
        if len(args) == 1 and callable(args[0]) and not kwargs:
            return _as_compiled(args[0])
        return _as_compiled

    prange = range
else:
    from numba import njit, prange  # noqa: F401
