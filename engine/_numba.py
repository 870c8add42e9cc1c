"""The one place numba is imported: ``CARBON_DISABLE_NUMBA=1`` turns every kernel back into its
plain Python twin (slow, but steppable in a debugger and testable line by line)."""

from __future__ import annotations

import os

DISABLED = os.environ.get("CARBON_DISABLE_NUMBA", "") not in ("", "0")

if DISABLED:

    def njit(*args, **kwargs):
        if len(args) == 1 and callable(args[0]) and not kwargs:
            return args[0]
        return lambda function: function

    prange = range
else:
    from numba import njit, prange  # noqa: F401
