"""The nightly run's configuration: one TOML file (``desk/defaults/desk.toml`` is the commented
example that ``carbon init`` writes and that ``carbon nightly`` runs without ``--config``).

Everything is validated before anything runs: an unknown key, a value of the wrong type or out
of range, a book file that is missing or invalid, an entity whose market has no source: each
raises ``ConfigurationError`` naming the file, the key and the value.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desk.book_file import load_book
from engine.book import ComplianceBook
from engine.errors import ConfigurationError
from engine.markets import MARKETS
from engine.volatility import ADVISED_OBSERVATIONS

DEFAULTS = "defaults"
DEFAULT_FILES = ("desk.toml", "power_company_book.toml")


def default_config_path() -> Path:
    """The packaged example configuration (and its book beside it)."""
    return Path(__file__).resolve().parent / DEFAULTS / "desk.toml"


@dataclass(frozen=True)
class MarketSource:
    """Where one market's prices come from and how its model is made."""

    code: str
    source: str = "reference"
    allow_integrated: bool = False
    model_file: Path | None = None
    min_observations: int = ADVISED_OBSERVATIONS


@dataclass(frozen=True)
class RunSettings:
    seed: int = 0
    paths: int = 100_000
    scenarios: int = 1_000
    every: int = 10
    out: Path = Path("runs")
    store: Path | None = None


@dataclass(frozen=True)
class OptimiserConfig:
    lambda_: float = 1.0
    liquidity_t: float = 200_000.0
    impact: float = 0.02
    frontier: tuple[float, ...] = (0.0, 0.5, 1.0, 2.0, 4.0)
    tree_leaves: int = 64


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
    name: str
    book: ComplianceBook
    book_path: Path


@dataclass(frozen=True)
class DeskConfig:
    """A validated configuration. ``alerts`` is the raw ``[alerts]`` table, already checked by
    ``desk.alert_config``; ``path`` is the file it came from."""

    path: Path
    run: RunSettings
    markets: Mapping[str, MarketSource]
    optimiser: OptimiserConfig
    entities: tuple[Entity, ...]
    targets: Targets
    alerts: Mapping[str, Any] = field(default_factory=dict)
    text: str = ""


def _fail(path: Path, key: str, value: object, rule: str) -> ConfigurationError:
    return ConfigurationError(f"{path}: {key} = {value!r} {rule}")


class _Table:
    """Typed reads of one TOML table that name the key and value when they fail, and refuse
    keys that no read asked for."""

    def __init__(self, path: Path, prefix: str, data: object) -> None:
        if not isinstance(data, Mapping):
            raise _fail(path, prefix, data, "must be a table")
        self.path, self.prefix, self.data = path, prefix, dict(data)
        self.seen: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def get(self, name: str, kind: type | tuple[type, ...], default: Any) -> Any:
        self.seen.add(name)
        if name not in self.data:
            return default
        value = self.data[name]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            names = " or ".join(k.__name__ for k in kinds)
            raise _fail(self.path, self.key(name), value, f"must be a {names}")
        if isinstance(value, float) and not math.isfinite(value):
            raise _fail(self.path, self.key(name), value, "must be finite")
        return value

    def number(self, name: str, default: Any, low: float, high: float = math.inf) -> Any:
        value = self.get(name, (float,), default)
        if value is not None and not low <= value <= high:
            raise _fail(self.path, self.key(name), value, f"must lie in [{low:g}, {high:g}]")
        return value

    def integer(self, name: str, default: Any, low: int, high: float = math.inf) -> Any:
        value = self.get(name, (int,), default)
        if value is not None and not low <= value <= high:
            raise _fail(self.path, self.key(name), value, f"must lie in [{low}, {high:g}]")
        return value

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.seen)
        if unknown:
            known = ", ".join(sorted(self.seen))
            raise _fail(self.path, self.key(unknown[0]), self.data[unknown[0]],
                        f"is not a known key (known here: {known})")  # fmt: skip


RESERVED = {"alerts.json", "metrics.json", "run.json", "report.html"}


def entity_folder(name: str) -> str:
    """An entity's folder in the run folder: letters, digits, dot, dash and underscore."""
    text = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")
    return text or "entity"


def _resolve(base: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def _run(path: Path, data: object, base: Path) -> RunSettings:
    t = _Table(path, "run", data)
    store = t.get("store", str, None)
    run = RunSettings(
        seed=t.integer("seed", 0, 0, 2**63 - 1),
        paths=t.integer("paths", 100_000, 10, 10_000_000),
        scenarios=t.integer("scenarios", 1_000, 2, 100_000),
        every=t.integer("every", 10, 1, 250),
        out=_resolve(base, t.get("out", str, "runs")),
        store=None if store is None else _resolve(base, store),
    )
    t.done()
    return run


def _markets(path: Path, data: object) -> dict[str, MarketSource]:
    tables = _Table(path, "markets", data)
    markets = {}
    for code, body in tables.data.items():
        tables.seen.add(code)
        if code not in MARKETS:
            raise _fail(path, f"markets.{code}", code, f"is not a market ({', '.join(MARKETS)})")
        t = _Table(path, f"markets.{code}", body)
        source = t.get("source", str, "reference")
        model_file = t.get("model_file", str, None)
        markets[code] = MarketSource(
            code=code,
            source=source if source == "reference" else str(_resolve(path.parent, source)),
            allow_integrated=t.get("allow_integrated", bool, False),
            model_file=None if model_file is None else _existing(path, code, model_file),
            min_observations=t.integer("min_observations", ADVISED_OBSERVATIONS, 1),
        )
        t.done()
    return markets


def _existing(path: Path, code: str, value: str) -> Path:
    model = _resolve(path.parent, value)
    if not model.is_file():
        raise _fail(path, f"markets.{code}.model_file", value, f"names no file ({model})")
    return model


def _optimiser(path: Path, data: object) -> OptimiserConfig:
    t = _Table(path, "optimiser", data)
    frontier = t.get("frontier", list, [0.0, 0.5, 1.0, 2.0, 4.0])
    for i, value in enumerate(frontier):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or not 0 <= value < math.inf:
            raise _fail(path, f"optimiser.frontier[{i}]", value, "must be a number >= 0")
    config = OptimiserConfig(
        lambda_=t.number("lambda", 1.0, 0.0, 1e6),
        liquidity_t=t.number("liquidity_t", 200_000.0, 1.0),
        impact=t.number("impact", 0.02, 0.0, 1.0),
        frontier=tuple(float(v) for v in frontier),
        tree_leaves=t.integer("tree_leaves", 64, 1, 4096),
    )
    t.done()
    return config


def _targets(path: Path, data: object) -> Targets:
    t = _Table(path, "targets", data)
    targets = Targets(
        carbon_asset_return=t.number("carbon_asset_return", None, -1.0, 10.0),
        compliance_cost_max=t.number("compliance_cost_max", None, -1e12, 1e12),
        cost_saving_min=t.number("cost_saving_min", None, -1e12, 1e12),
        intensity_reduction=t.number("intensity_reduction", None, 0.0, 1.0),
        intensity_base=t.number("intensity_base", None, 0.0),
        intensity_target_year=t.integer("intensity_target_year", None, 2000, 2100),
        coverage_min=t.number("coverage_min", None, 0.0, 10.0),
    )
    t.done()
    parts = (targets.intensity_reduction, targets.intensity_base)
    if (parts[0] is None) != (parts[1] is None):
        raise _fail(path, "targets.intensity_base", targets.intensity_base,
                    "and targets.intensity_reduction go together")  # fmt: skip
    return targets


def _entities(path: Path, data: object, markets: Mapping[str, MarketSource]) -> tuple:
    if not isinstance(data, list) or not data:
        raise _fail(path, "entities", data, "must be a list of [[entities]] tables, at least one")
    entities, names, folders = [], set(), set()
    for i, body in enumerate(data):
        t = _Table(path, f"entities[{i}]", body)
        name = t.get("name", str, None)
        book_file = t.get("book", str, None)
        t.done()
        if not name or not name.strip():
            raise _fail(path, f"entities[{i}].name", name, "must be a non-empty name")
        if name in names:
            raise _fail(path, f"entities[{i}].name", name, "is used twice")
        if book_file is None:
            raise _fail(path, f"entities[{i}].book", None, "must name the entity's book file")
        book_path = _resolve(path.parent, book_file)
        try:
            book = load_book(book_path)
        except ConfigurationError as exc:
            raise ConfigurationError(f"{path}: entities[{i}].book: {exc}") from None
        if book.market not in markets:
            rule = f"trades market {book.market!r}, which has no [markets.{book.market}]"
            raise _fail(path, f"entities[{i}].book", book_file, rule)
        folder = entity_folder(name)
        if folder in RESERVED or folder in folders:
            raise _fail(path, f"entities[{i}].name", name,
                        f"would write to the run folder's {folder!r}, which is taken")  # fmt: skip
        names.add(name)
        folders.add(folder)
        entities.append(Entity(name, book, book_path))
    return tuple(entities)


def load_config(path: str | Path | None = None) -> DeskConfig:
    """The configuration in ``path`` (the packaged example when ``None``), validated.

    Relative paths are read from the file's folder, except the packaged example's ``out`` and
    ``store``, which are read from the working directory (not from the installed package)."""
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
    top = _Table(path, "", data)
    run = _run(path, top.get("run", dict, {}), Path.cwd() if packaged else path.parent)
    markets = _markets(path, top.get("markets", dict, {"cea": {}}))
    optimiser = _optimiser(path, top.get("optimiser", dict, {}))
    entities = _entities(path, top.get("entities", list, None), markets)
    targets = _targets(path, top.get("targets", dict, {}))
    alerts = top.get("alerts", dict, {})
    top.done()
    _check_alerts(path, alerts, markets)
    return DeskConfig(path, run, markets, optimiser, entities, targets, alerts, text)


def _check_alerts(path: Path, alerts: Mapping[str, Any], markets: Mapping[str, MarketSource]):
    """The ``[alerts]`` table is ``desk.alert_config``'s to read: read it now, so that a bad
    threshold fails before anything runs."""
    from desk.alert_config import parse_alert_config

    for code in markets:
        try:
            parse_alert_config(alerts, MARKETS[code])
        except ConfigurationError as exc:
            raise ConfigurationError(f"{path}: {exc}") from None


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
