"""Exit codes of the ``carbon`` command, for cron jobs and CI pipelines."""

OK = 0
FAILURE = 1  # an unexpected error: a bug, or something the machine refused
USAGE = 2  # a wrong option or argument (click's own code)
DATA = 3  # market data missing, unreadable or invalid
CONFIG = 4  # an impossible setting
MODEL = 5  # no usable volatility model: too little data, a flat series, a failed fit
INFEASIBLE = 6  # no plan meets the constraints, or the solvers failed
CRITICAL_ALERT = 7  # the work is done, and a critical alert is open: not acknowledged, not resolved
# (`carbon nightly` and `carbon alerts check`, for what they checked; cron and CI act on it)
AUDIT_BROKEN = 8  # `carbon audit verify`: the audit chain or an audited row was changed
MODEL_RED = 9  # `carbon model validate`: the chosen model is in the Basel red zone
PIPE_CLOSED = 141  # the reader of the output went away (`| head`): the shell's code for SIGPIPE
