"""The bounds of the configuration and book files, declared once, as pydantic models at the
file boundary (``desk.config.desk`` and ``desk.config.book`` turn a validated model into the frozen
dataclasses the rest of the desk uses).

Every number is finite and within a range that the night can compute with (a ``cycle_year`` of
``1e18`` or a forward of ``inf`` tonnes is refused here, not met as an OverflowError later);
dates lie within the calendars (1970-2060); text that names a file is not blank. Every error
becomes one ``ConfigurationError`` line that names the file, the key (``run.paths``,
``forwards[0].delivery``) and the value: ``<file>: run.paths = 5 must be >= 10``
(``format_errors``).
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from engine.errors import ConfigurationError
from engine.forwards import MAX_CARRY_RATE, ForwardQuote
from engine.optimiser_settings import OptimiserSettings

FIRST_YEAR, LAST_YEAR = 1970, 2060  # the trading calendars' span
FIRST_CYCLE = 2005  # the EU ETS's first compliance cycle; the CEA's is 2019-2020
MAX_TONNES = 1e12  # a thousand gigatonnes: more than the world emits in a decade
MAX_CASH = 1e15  # currency units (CNY, EUR)
MAX_PRICE = 1e6  # currency per tonne
ENGINE = OptimiserSettings  # its class attributes are the optimiser's defaults, written once


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    if "\0" in value:
        raise ValueError("must not hold a NUL character")
    return value


def _within_calendar(value: dt.date) -> dt.date:
    if not dt.date(FIRST_YEAR, 1, 1) <= value <= dt.date(LAST_YEAR, 12, 31):
        raise ValueError(f"must lie within the calendars, {FIRST_YEAR} to {LAST_YEAR}")
    return value


def _vintage(value: str) -> str:
    try:
        year = int(value)
    except ValueError:
        raise ValueError("must be a year (a vintage, e.g. 2024)") from None
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"must be a year from {FIRST_YEAR} to {LAST_YEAR}")
    return value


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        raise ValueError("must be a date (YYYY-MM-DD), not a date and time")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError("must be a date (YYYY-MM-DD)") from None
    raise ValueError("must be a date (YYYY-MM-DD)")


Text = Annotated[str, Field(max_length=4096), AfterValidator(_not_blank)]
Date = Annotated[Any, AfterValidator(_date), AfterValidator(_within_calendar)]


def Number(low: float, high: float, *, above: bool = False) -> Any:
    """A finite float in [low, high] ((low, high] with ``above``); a TOML integer is accepted."""
    bound = {"gt": low} if above else {"ge": low}
    return Annotated[float, Field(allow_inf_nan=False, le=high, **bound)]


def Whole(low: int, high: int) -> Any:
    return Annotated[int, Field(ge=low, le=high)]


class Strict(BaseModel):
    """Unknown keys refused, no coercion (``"5"`` is not 5, ``true`` is not 1)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


# -- desk.toml ---------------------------------------------------------------------------------


class RunModel(Strict):
    seed: Whole(0, 2**63 - 1) = 0
    paths: Whole(10, 10_000_000) = 100_000
    scenarios: Whole(2, 100_000) = 1_000
    every: Whole(1, 250) = 10
    stability_sets: Whole(0, 50) = 4
    versus_paths: Whole(0, 1_000_000) = 2_000
    out: Text = "runs"
    store: Text | None = None


class ForwardQuoteModel(Strict):
    """A counterparty's forward quote (``engine.forwards.ForwardQuote``, which checks it)."""

    name: Annotated[Text, Field(max_length=200)]
    delivery: Date
    max_t: Number(0.0, MAX_TONNES)
    price: Number(0.0, MAX_PRICE, above=True) | None = None
    carry_rate: Number(-MAX_CARRY_RATE, MAX_CARRY_RATE) | None = None
    premium: Number(-MAX_PRICE, MAX_PRICE) = 0.0

    @model_validator(mode="after")
    def _a_quote(self) -> ForwardQuoteModel:
        self.to_quote()  # its ForwardQuoteError is a ValueError: pydantic names the key
        return self

    def to_quote(self) -> ForwardQuote:
        return ForwardQuote(**self.model_dump())


Quotes = Annotated[list[ForwardQuoteModel], Field(max_length=1000)]


class MarketModel(Strict):
    source: Text = "reference"
    allow_integrated: bool = False
    model_file: Text | None = None
    min_observations: Whole(1, 1_000_000) | None = None
    # How to read the source, as the commands' source options (market_data.SourceOptions).
    format: Literal["auto", "wind", "edb", "seee", "icap", "plain"] = "auto"
    sheet: Text | Whole(1, 10_000) | None = None
    segment: Literal["total", "listed", "block"] = "total"
    instrument: Text | None = None
    system: Text | None = None
    date_column: Text | None = None
    price_column: Text | None = None
    strict: bool = False
    keep_outliers: bool = False
    forwards: Quotes = []  # quotes offered to every entity of the market


class OptimiserModel(Strict):
    """Every optimiser setting (``engine.optimiser_settings.OptimiserSettings``, whose defaults
    these are), and the lambdas of the nightly frontier. The settings' rules across keys
    (``mode = "min_cvar"`` needs a ``cost_budget``) are the engine's, checked by
    ``desk.config``. An entity's ``[entities.optimiser]`` table changes the keys it gives."""

    lambda_: Number(0.0, 1e6) = Field(ENGINE.lambda_, alias="lambda")
    alpha: Annotated[float, Field(allow_inf_nan=False, gt=0.0, lt=1.0)] = ENGINE.alpha
    liquidity_t: Number(1.0, MAX_TONNES) = ENGINE.liquidity_t
    impact: Number(0.0, 1.0) = ENGINE.impact
    ccer_liquidity_t: Number(1.0, MAX_TONNES) = ENGINE.ccer_liquidity_t
    ccer_impact: Number(0.0, 1.0) = ENGINE.ccer_impact
    penalty_multiple: Number(0.0, 1e3) | None = ENGINE.penalty_multiple
    mode: Literal["mean_cvar", "min_cvar"] = ENGINE.mode
    cost_budget: Number(-MAX_CASH, MAX_CASH) | None = ENGINE.cost_budget
    tree_leaves: Whole(1, 4096) = ENGINE.tree_leaves
    tree_need_splits: Whole(0, 8) = ENGINE.tree_need_splits
    solvers: Annotated[list[Text], Field(min_length=2, max_length=2)] = list(ENGINE.solvers)
    frontier: Annotated[list[Number(0.0, 1e6)], Field(max_length=64)] = [0.0, 0.5, 1.0, 2.0, 4.0]


class TargetsModel(Strict):
    carbon_asset_return: Number(-1.0, 10.0) | None = None
    compliance_cost_max: Number(-1e12, 1e12) | None = None
    cost_saving_min: Number(-1e12, 1e12) | None = None
    intensity_reduction: Number(0.0, 1.0) | None = None
    intensity_base: Number(0.0, 1e6) | None = None
    intensity_target_year: Whole(FIRST_YEAR, LAST_YEAR) | None = None
    coverage_min: Number(0.0, 10.0) | None = None

    @model_validator(mode="after")
    def _together(self) -> TargetsModel:
        if (self.intensity_reduction is None) != (self.intensity_base is None):
            raise ValueError("intensity_base and intensity_reduction go together")
        return self


class EntityModel(Strict):
    name: Annotated[Text, Field(max_length=200)]
    book: Text
    forwards: Quotes = []  # quotes offered to this entity only (beside its market's)
    optimiser: OptimiserModel | None = None  # the keys given change the [optimiser] ones


class AuditModel(Strict):
    key_file: Text | None = None


class DeskModel(Strict):
    run: RunModel = RunModel()
    markets: dict[str, MarketModel] = {"cea": MarketModel()}
    optimiser: OptimiserModel = OptimiserModel()
    entities: Annotated[list[EntityModel], Field(min_length=1, max_length=1000)]
    targets: TargetsModel = TargetsModel()
    alerts: dict[str, Any] = {}
    audit: AuditModel = AuditModel()


# -- the book ----------------------------------------------------------------------------------


class ObligationModel(Strict):
    expected_output: Number(0.0, 1e13, above=True)
    base_output: Number(0.0, 1e13, above=True)
    output_sd_share: Annotated[float, Field(allow_inf_nan=False, ge=0.0, lt=1.0)]
    intensity: Number(0.0, 1e3, above=True)
    intensity_sd_share: Annotated[float, Field(allow_inf_nan=False, ge=0.0, lt=1.0)]
    benchmark: Number(0.0, 1e3, above=True)
    preallocation_share: Number(0.0, 1.0) = 0.7


class ForwardModel(Strict):
    tonnes: Number(0.0, MAX_TONNES, above=True)
    price: Number(0.0, MAX_PRICE, above=True)
    delivery: Date


class PledgeModel(Strict):
    tonnes: Number(0.0, MAX_TONNES, above=True)
    loan: Number(0.0, MAX_CASH)
    trigger_ltv: Number(0.0, 10.0, above=True)
    call_ltv: Number(0.0, 10.0, above=True)


class BookModel(Strict):
    entity: Annotated[Text, Field(max_length=200)]
    market: Text = "cea"
    cycle_year: Whole(FIRST_CYCLE, LAST_YEAR - 1)
    allowances_by_vintage: dict[Annotated[str, AfterValidator(_vintage)], Number(0.0, MAX_TONNES)]
    ccer_t: Number(0.0, MAX_TONNES) = 0.0
    forwards: Annotated[list[ForwardModel], Field(max_length=10_000)] = []
    pledges: Annotated[list[PledgeModel], Field(max_length=10_000)] = []
    cash: Number(0.0, MAX_CASH) = 0.0
    trading_budget: Number(0.0, MAX_CASH)
    reserve_floor_share: Number(0.0, 1.0) = 0.0
    obligation: ObligationModel
    notes: Annotated[str, Field(max_length=100_000)] = ""

    @model_validator(mode="after")
    def _forwards_in_the_cycle(self) -> BookModel:
        start = dt.date(self.cycle_year, 1, 1)
        for i, forward in enumerate(self.forwards):
            if forward.delivery < start:
                raise ValueError(
                    f"forwards[{i}].delivery = {forward.delivery.isoformat()!r} is before the "
                    f"cycle {self.cycle_year} starts: a forward delivered earlier is held"
                )
        return self

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``ComplianceBook.from_dict`` (as the TOML file gave it, checked)."""
        data = self.model_dump(exclude_unset=False)
        data["forwards"] = [dict(f) for f in data["forwards"]]
        return data


# -- errors ------------------------------------------------------------------------------------


def _key(prefix: str, loc: tuple[Any, ...]) -> str:
    text = prefix
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part == "[key]" or str(part).startswith(
            ("function-after", "constrained-", "lax-or-strict")
        ):
            continue  # pydantic's names for a validator step, not a key
        else:
            text += f".{part}" if text else str(part)
    return text or prefix


_WORDS = {
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "bool_type": "must be true or false",
    "string_type": "must be a text",
    "dict_type": "must be a table",
    "model_type": "must be a table",
    "list_type": "must be a list",
    "missing": "is required",
    "extra_forbidden": "is not a known key",
    "finite_number": "must be finite",
}


def describe(error: dict[str, Any]) -> str:
    """The rule an error broke, in the file's words."""
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind in _WORDS:
        return _WORDS[kind]
    bounds = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=",
              "less_than": "<"}  # fmt: skip
    if kind in bounds:
        limit = next(iter(ctx.values()))
        return f"must be {bounds[kind]} {limit:g}" if isinstance(limit, float) else (
            f"must be {bounds[kind]} {limit}")  # fmt: skip
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    if kind in ("too_long", "too_short"):
        return error["msg"].replace("List should", "must").replace("String should", "must")
    return error["msg"][0].lower() + error["msg"][1:]


def _shown(value: Any) -> str:
    if isinstance(value, dict | list) and len(repr(value)) > 80:
        return f"<a {type(value).__name__}>"
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _known(model: type[BaseModel], loc: tuple[Any, ...]) -> str:
    """The keys known where an unknown key ``loc`` sits (walking the models by ``loc``)."""
    for part in loc[:-1]:
        if isinstance(part, int) or part not in model.model_fields:
            continue  # a list index or a table keyed by name: the same model inside
        inner = model.model_fields[part].annotation
        found = [a for a in _args(inner) if isinstance(a, type) and issubclass(a, BaseModel)]
        if not found:
            return ""
        model = found[0]
    names = [f.alias or name for name, f in model.model_fields.items()]
    return f" (known here: {', '.join(names)})"


def _args(annotation: Any) -> list[Any]:
    inner = getattr(annotation, "__args__", None)
    if not inner:
        return [annotation]
    return [a for arg in inner for a in _args(arg)] + [annotation]


def format_errors(
    path: Path, error: ValidationError, prefix: str = "", model: type[BaseModel] | None = None
) -> ConfigurationError:
    """The first error of a validation as ``<file>: <key> = <value> <rule>`` (and how many
    more there are)."""
    errors = error.errors(include_url=False)
    first = errors[0]
    key = _key(prefix, tuple(first["loc"]))
    rule = describe(first)
    if first["type"] == "extra_forbidden" and model is not None:
        rule += _known(model, tuple(first["loc"]))
    if first["type"] == "missing":
        text = f"{path}: {key} {rule}"
    elif first["type"] == "value_error" and not first["loc"]:
        text = f"{path}: {rule}"  # a rule across keys names its keys itself
    else:
        value = first.get("input")
        limit = next(iter((first.get("ctx") or {}).values()), None)
        if isinstance(value, int) and not isinstance(value, bool) and isinstance(limit, float):
            value = float(value)  # a number field out of range: shown as the number it reads
        text = f"{path}: {key} = {_shown(value)} {rule}"
    if len(errors) > 1:
        text += f" (and {len(errors) - 1} more)"
    return ConfigurationError(text)


def validate(model: type[Strict], data: Any, path: Path, prefix: str = "") -> Any:
    """``model`` from ``data`` (a parsed TOML table), or a ``ConfigurationError``."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise format_errors(path, exc, prefix, model) from None
