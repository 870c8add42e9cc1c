"""Errors raised by the engine: a shallow tree over the built-in exceptions."""


class EngineError(Exception):
    """Base class of every error the engine raises on purpose."""


class ConfigurationError(EngineError, ValueError):
    """A setting is impossible (a negative band, an unknown market, ...)."""


class ModelError(EngineError, ValueError):
    """A model cannot be fitted or used: too little data, a flat series, a fit that did not
    converge, a non-stationary fit."""


class ModelWarning(UserWarning):
    """A model was fitted, but something about the data or the fit deserves a look."""
