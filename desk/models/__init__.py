"""Volatility models at the desk: the validated choice (cached), the fan chart of a simulation
and the validation report. Uses ``desk.config`` and ``desk.store``."""
