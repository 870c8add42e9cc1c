"""The nightly run's configuration: one TOML file (``desk/defaults/desk.toml`` is the commented
example that ``carbon init`` writes and that ``carbon nightly`` runs without ``--config``).

Everything is validated before anything runs, against the bounds declared once in
``desk.config.schema`` (pydantic models): an unknown key, a value of the wrong type, not finite
or out of range, a date outside the calendars, a path that is not what it must be (``out`` a
folder, ``store`` a file, never blank), a book file that is missing or invalid, an entity whose
market has no source: each raises ``ConfigurationError`` naming the file, the key and the value.
Notifier files stay inside the configuration's folder (``desk.alerts.settings``).
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desk.config.book import load_book
from desk.config.schema import (
    DeskModel,
    EntityModel,
    MarketModel,
    OptimiserModel,
    RunModel,
    TargetsModel,
    validate,
)
from desk.store.redact import redact_text
from desk.store.sqlite import STORE_FILE, USER_STORE, named_store
from engine.book import ComplianceBook
from engine.errors import ConfigurationError
from engine.forwards import ForwardQuote
from engine.markets import MARKETS
from engine.optimiser_settings import OptimiserSettings
from engine.volatility import ADVISED_OBSERVATIONS
from market_data import SourceOptions

DEFAULTS = "defaults"
DEFAULT_FILES = ("desk.toml", "power_company_book.toml")


def default_config_path() -> Path:
    """The packaged example configuration (and its book beside it)."""
    return Path(__file__).resolve().parents[1] / DEFAULTS / "desk.toml"


@dataclass(frozen=True)
class MarketSource:
    """Where one market's prices come from and how its model is made."""

    code: str
    source: str = "reference"
    allow_integrated: bool = False
    model_file: Path | None = None
    min_observations: int = ADVISED_OBSERVATIONS
    fmt: str = "auto"  # how to read the source: the commands' --format ...
    options: SourceOptions = field(default_factory=SourceOptions)  # ... and source options
    forwards: tuple[ForwardQuote, ...] = ()  # counterparty quotes for every entity of it


@dataclass(frozen=True)
class RunSettings:
    seed: int = 0
    paths: int = 100_000
    scenarios: int = 1_000
    every: int = 10
    stability_sets: int = 4  # independent scenario sets today's decision is re-solved on (0: off)
    versus_paths: int = 2_000  # paths the rules are played on beside the plan (0: off)
    out: Path = Path("runs")
    store: Path | None = None


@dataclass(frozen=True)
class OptimiserConfig:
    """An ``[optimiser]`` table: the engine's settings (their defaults are the engine's) and the
    lambdas of the nightly frontier (``()`` for none)."""

    settings: OptimiserSettings
    frontier: tuple[float, ...]


@dataclass(frozen=True)
class Targets:
    """The organisation's targets (GB/T 46412-2025's monitoring step); ``None``: no target."""

    carbon_asset_return: float | None = None
    compliance_cost_max: float | None = None
    cost_saving_min: float | None = None
    intensity_reduction: float | None = None
    intensity_base: float | None = None
    intensity_target_year: int | None = None
    coverage_min: float | None = None


@dataclass(frozen=True)
class Entity:
    """An entity with its book, the forward quotes it may hedge on (its market's and its own)
    and its optimiser settings (``[optimiser]`` with its own ``[entities.optimiser]`` keys)."""

    name: str
    book: ComplianceBook
    book_path: Path
    optimiser: OptimiserConfig
    forwards: tuple[ForwardQuote, ...] = ()


@dataclass(frozen=True)
class DeskConfig:
    """A validated configuration. ``alerts`` is the raw ``[alerts]`` table, already checked by
    ``desk.alerts.settings``; ``path`` is the file it came from; ``text`` its text, credentials
    redacted (what ``run.json`` records); ``audit_key_file`` the ``[audit] key_file``."""

    path: Path
    run: RunSettings
    markets: Mapping[str, MarketSource]
    optimiser: OptimiserConfig
    entities: tuple[Entity, ...]
    targets: Targets
    alerts: Mapping[str, Any] = field(default_factory=dict)
    text: str = ""
    audit_key_file: Path | None = None


RESERVED = {"alerts.json", "metrics.json", "run.json", "report.html"}


def entity_folder(name: str) -> str:
    """An entity's folder in the run folder: letters, digits, dot, dash and underscore."""
    text = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")
    return text or "entity"


def _resolve(base: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def _fail(path: Path, key: str, value: object, rule: str) -> ConfigurationError:
    return ConfigurationError(f"{path}: {key} = {value!r} {rule}")


def _folder(path: Path, key: str, value: str, base: Path) -> Path:
    """A folder the night writes into: missing (it is made) or a folder, never a file or a
    device (``out = "/dev/null"``)."""
    folder = _resolve(base, value)
    for parent in (folder, *folder.parents):
        if parent.exists():
            if not parent.is_dir():
                what = "names a file" if parent.is_file() else "names no folder"
                where = "" if parent == folder else f" ({parent} is not a folder)"
                raise _fail(path, key, value, f"{what}{where}: give a folder for the runs")
            break
    return folder


def _store_file(path: Path, value: str | None, base: Path) -> Path:
    """``[run] store``: a path read from ``base``; ``user`` the per-user store; left out,
    ``store.sqlite`` in ``base`` (a desk's store lives with its configuration)."""
    if value is not None and value.strip() == USER_STORE:
        return named_store(value)
    store = base / STORE_FILE if value is None else _resolve(base, value)
    if store.exists() and not store.is_file():
        raise _fail(path, "run.store", value, "names a folder or a device, not a store file")
    for parent in store.parents:
        if parent.exists():
            if not parent.is_dir():
                raise _fail(path, "run.store", value, f"{parent} is not a folder")
            break
    return store


def _run(path: Path, model: RunModel, base: Path) -> RunSettings:
    return RunSettings(
        seed=model.seed,
        paths=model.paths,
        scenarios=model.scenarios,
        every=model.every,
        stability_sets=model.stability_sets,
        versus_paths=model.versus_paths,
        out=_folder(path, "run.out", model.out, base),
        store=_store_file(path, model.store, base),
    )


def _markets(path: Path, models: Mapping[str, MarketModel]) -> dict[str, MarketSource]:
    markets = {}
    for code, model in models.items():
        if code not in MARKETS:
            raise _fail(path, f"markets.{code}", code, f"is not a market ({', '.join(MARKETS)})")
        source = model.source
        if source != "reference":
            source = str(_resolve(path.parent, source))
            if Path(source).is_dir():
                raise _fail(path, f"markets.{code}.source", model.source,
                            "names a folder, not a price file")  # fmt: skip
        markets[code] = MarketSource(
            code=code,
            source=source,
            allow_integrated=model.allow_integrated,
            model_file=None
            if model.model_file is None
            else _existing(path, code, model.model_file),
            min_observations=model.min_observations or ADVISED_OBSERVATIONS,
            fmt=model.format,
            options=SourceOptions(
                segment=model.segment,
                instrument=model.instrument,
                system=model.system,
                date_column=model.date_column,
                price_column=model.price_column,
                sheet=model.sheet,
                strict=model.strict,
                keep_outliers=model.keep_outliers,
            ),
            forwards=tuple(q.to_quote() for q in model.forwards),
        )
    return markets


def _existing(path: Path, code: str, value: str) -> Path:
    model = _resolve(path.parent, value)
    if not model.is_file():
        raise _fail(path, f"markets.{code}.model_file", value, f"names no file ({model})")
    return model


def _entities(
    path: Path, models: list[EntityModel], markets: Mapping[str, MarketSource],
    optimiser: OptimiserModel,
):  # fmt: skip
    entities, names, folders = [], set(), set()
    for i, model in enumerate(models):
        name = model.name
        if name in names:
            raise _fail(path, f"entities[{i}].name", name, "is used twice")
        book_path = _resolve(path.parent, model.book)
        if book_path.is_dir():
            raise _fail(path, f"entities[{i}].book", model.book, "names a folder, not a book")
        try:
            book = load_book(book_path)
        except ConfigurationError as exc:
            raise ConfigurationError(f"{path}: entities[{i}].book: {exc}") from None
        if book.market not in markets:
            rule = f"trades market {book.market!r}, which has no [markets.{book.market}]"
            raise _fail(path, f"entities[{i}].book", model.book, rule)
        folder = entity_folder(name)
        if folder in RESERVED or folder in folders:
            raise _fail(path, f"entities[{i}].name", name,
                        f"would write to the run folder's {folder!r}, which is taken")  # fmt: skip
        names.add(name)
        folders.add(folder)
        merged = optimiser
        if model.optimiser is not None:  # the keys the entity gives change the [optimiser] ones
            given = {k: getattr(model.optimiser, k) for k in model.optimiser.model_fields_set}
            merged = optimiser.model_copy(update=given)
        settings = _optimiser(path, merged, f"entities[{i}].optimiser")
        forwards = _quotes(path, i, book, markets[book.market], model)
        entities.append(Entity(name, book, book_path, settings, forwards))
    return tuple(entities)


def _quotes(path: Path, i: int, book: ComplianceBook, market: MarketSource, model: EntityModel):
    """The entity's quotes: its market's, then its own; names unique, delivered by its
    deadline (whether they are stale is known on the night, from the prices' last date)."""
    quotes = [(f"markets.{book.market}.forwards[{k}]", q) for k, q in enumerate(market.forwards)]
    quotes += [(f"entities[{i}].forwards[{k}]", q.to_quote()) for k, q in enumerate(model.forwards)]
    seen: set[str] = set()
    for key, quote in quotes:
        if quote.name in seen:
            raise _fail(
                path,
                f"{key}.name",
                quote.name,
                f"is used twice for entities[{i}] ({model.name}): name each quote once",
            )
        seen.add(quote.name)
        try:
            quote.check_dates(dt.date.min, book.deadline)
        except ConfigurationError as exc:
            raise ConfigurationError(
                f"{path}: {key}: {exc} (entities[{i}], {model.name})"
            ) from None
    return tuple(q for _, q in quotes)


def _targets(model: TargetsModel) -> Targets:
    return Targets(**model.model_dump())


def _optimiser(path: Path, model: OptimiserModel, key: str = "optimiser") -> OptimiserConfig:
    """The engine's settings from a validated table; the engine checks the rules across keys."""
    fields = model.model_dump(exclude={"frontier"})
    fields["solvers"] = tuple(fields["solvers"])
    try:
        settings = OptimiserSettings(**fields)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{path}: {key}: {exc}") from None
    return OptimiserConfig(settings, tuple(float(v) for v in model.frontier))


def load_config(path: str | Path | None = None) -> DeskConfig:
    """The configuration in ``path`` (the packaged example when ``None``), validated.

    Relative paths are read from the file's folder, except the packaged example's ``out`` and
    ``store``, which are read from the working directory (not from the installed package).
    ``text`` is the file's text with what looks like a credential redacted."""
    packaged = path is None
    path = default_config_path() if path is None else Path(path).expanduser().resolve()
    if not path.is_file():
        raise ConfigurationError(f"{path}: no such configuration file (carbon init writes one)")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigurationError(
            f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path}: not valid TOML ({exc})") from None
    model: DeskModel = validate(DeskModel, data, path)
    run = _run(path, model.run, Path.cwd() if packaged else path.parent)
    markets = _markets(path, model.markets)
    optimiser = _optimiser(path, model.optimiser)
    entities = _entities(path, model.entities, markets, model.optimiser)
    _check_alerts(path, model.alerts, markets)
    key_file = model.audit.key_file
    return DeskConfig(
        path, run, markets, optimiser, entities, _targets(model.targets),
        dict(model.alerts), redact_text(text),
        None if key_file is None else _resolve(path.parent, key_file),
    )  # fmt: skip


def _check_alerts(path: Path, alerts: Mapping[str, Any], markets: Mapping[str, MarketSource]):
    """The ``[alerts]`` table is ``desk.alerts.settings``'s to read: read it now, so that a bad
    threshold fails before anything runs."""
    from desk.alerts.settings import parse_alert_config

    for code in markets:
        try:
            parse_alert_config(alerts, MARKETS[code], base=path.parent)
        except ConfigurationError as exc:
            raise ConfigurationError(f"{path}: {exc}") from None
        except (TypeError, ValueError, OverflowError, KeyError) as exc:  # a check the rules lack
            raise ConfigurationError(f"{path}: alerts: {type(exc).__name__}: {exc}") from None


def write_example(folder: Path, force: bool = False) -> tuple[Path, ...]:
    """``carbon init``: the commented example configuration and its book, into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    targets = [folder / name for name in DEFAULT_FILES]
    existing = [str(p) for p in targets if p.exists()]
    if existing and not force:
        raise ConfigurationError(
            f"{', '.join(existing)} already exist(s); pass --force to overwrite"
        )
    source = default_config_path().parent
    for name, target in zip(DEFAULT_FILES, targets, strict=True):
        target.write_text((source / name).read_text(encoding="utf-8"), encoding="utf-8")
    return tuple(targets)
