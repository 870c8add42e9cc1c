"""Strategies by name, with settings given as text (``window=30``), for the command line and
notebooks: ``make_strategy("reserve", {"window": "30", "low": "0.1"})``.

The registry is explicit: ``FACTORIES`` names every strategy here, and the strategies do not
import this module (no strategy registers itself into a global table on import)."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Mapping
from typing import Any

from engine.errors import ConfigurationError
from strategies.guard import AlertGuard, guard
from strategies.mpc import Optimised
from strategies.rules import RULES

GUARD_SETTINGS = tuple(inspect.signature(guard).parameters)[1:]  # the guard's own, after inner


def guarded(inner: str = "reserve", **settings: Any) -> AlertGuard:
    """``guard``: the alert guard of the strategy named ``inner``; its own settings
    (``GUARD_SETTINGS``) are the guard's, the others pass to ``inner``."""
    own = {k: settings.pop(k) for k in GUARD_SETTINGS if k in settings}
    return guard(make_strategy(inner, settings), **own)


FACTORIES: Mapping[str, Callable[..., Any]] = {**RULES, "guard": guarded, "optimised": Optimised}


def names() -> list[str]:
    return sorted(FACTORIES)


def _convert(name: str, kind: Any, text: str) -> Any:
    kind = (
        kind
        if isinstance(kind, type)
        else {"int": int, "float": float, "bool": bool}.get(str(kind).split("|")[0].strip(), str)
    )
    try:
        if kind is bool:
            if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(text)
            return text.lower() in ("true", "1", "yes")
        if kind is int:
            return int(text)
        if kind is float:
            return float(text)
    except ValueError:
        article = "an" if kind is int else "a"
        raise ConfigurationError(
            f"strategy setting {name} = {text!r}: not {article} {kind.__name__}"
        ) from None
    return text


def make_strategy(name: str, params: Mapping[str, Any] | None = None) -> Any:
    """The strategy ``name`` with ``params`` (values as text or numbers) over its defaults."""
    if name not in FACTORIES:
        raise ConfigurationError(f"unknown strategy {name!r}; known: {', '.join(names())}")
    factory = FACTORIES[name]
    params = dict(params or {})
    if dataclasses.is_dataclass(factory):
        fields = {f.name: f for f in dataclasses.fields(factory) if f.init}
        unknown = sorted(set(params) - set(fields))
        if unknown:
            raise ConfigurationError(
                f"strategy {name!r} has no setting {', '.join(unknown)}; its settings: "
                f"{', '.join(fields) or 'none'}"
            )
        params = {
            k: _convert(k, fields[k].type, v) if isinstance(v, str) else v
            for k, v in params.items()
        }
    return factory(**params)


def parse_params(pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """``("window=30", "low=0.1")`` -> ``{"window": "30", "low": "0.1"}``; commas separate
    pairs too (``"window=30,low=0.1"``)."""
    out: dict[str, str] = {}
    for item in (p for pair in pairs for p in pair.split(",") if p.strip()):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ConfigurationError(f"--params {item!r}: write NAME=VALUE, e.g. window=30")
        out[key.strip()] = value.strip()
    return out
