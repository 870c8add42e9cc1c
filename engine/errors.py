"""Errors raised by the engine: a shallow tree over the built-in exceptions."""


class EngineError(Exception):
    """Base class of every error the engine raises on purpose."""


class ConfigurationError(EngineError, ValueError):
    """A setting is impossible (a negative band, an unknown market, ...)."""


class ForwardQuoteError(ConfigurationError):
    """A counterparty's forward quote is impossible or unusable tonight (negative tonnes, both
    a price and a carry rate, a delivery before today or after the deadline, ...). ``quote``
    names the quote and ``field`` the field at fault."""

    def __init__(self, message: str, quote: str = "", field: str = "") -> None:
        super().__init__(message)
        self.quote = quote
        self.field = field


class ModelError(EngineError, ValueError):
    """A model cannot be fitted or used: too little data, a flat series, a fit that did not
    converge, a non-stationary fit."""


def bad_params(name: str, value: object, rule: str) -> ModelError:
    """The error for a ``VolatilityParams`` field whose ``value`` breaks ``rule``."""
    return ModelError(f"VolatilityParams.{name} is {value!r}: {rule}; fix it or fit again")


class ModelWarning(UserWarning):
    """A model was fitted, but something about the data or the fit deserves a look."""


class OptimisationError(EngineError, RuntimeError):
    """An optimisation gave no plan: the problem is infeasible, or the solvers failed."""


class Infeasible(OptimisationError):
    """No plan meets every constraint. ``families`` names the constraint families that cannot
    hold together (e.g. ``("trading budget", "reserve floor")``) and ``relaxations`` says by how
    much each would have to give, alone (tonnes or CNY, as its message says)."""

    def __init__(
        self,
        message: str,
        families: tuple[str, ...] = (),
        relaxations: dict[str, float] | None = None,
    ) -> None:
        super().__init__(message)
        self.families = families
        self.relaxations = dict(relaxations or {})


class SolverFailed(OptimisationError):
    """The primary solver and its named fallback both failed to solve a problem."""
