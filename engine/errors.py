"""Errors raised by the engine: a shallow tree over the built-in exceptions."""


class EngineError(Exception):
    """Base class of every error the engine raises on purpose."""


class ConfigurationError(EngineError, ValueError):
    """A setting is impossible (a negative band, an unknown market, ...)."""
