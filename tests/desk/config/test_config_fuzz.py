"""Property-based tests over mutated configurations and books (the packaged examples,
``desk/defaults/*.toml``, with one to three keys replaced by hostile values, removed, or added):
loading either succeeds or raises the project's ``ConfigurationError`` naming the key at fault;
never a Python error (TypeError, OverflowError, ...) and never a message without its key. A
configuration that loads is then used as the night uses it (deadline, coverage, scenarios of the
obligation, the run and store paths), which must not raise either."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desk.config.desk import default_config_path, load_config
from engine.errors import ConfigurationError

DEFAULTS = default_config_path().parent
CONFIG = tomllib.loads((DEFAULTS / "desk.toml").read_text())
CONFIG["alerts"] = {
    "cumulative": {"window": 20, "threshold": 0.1},
    "reference": {"price": 92.0},
    "notifiers": [{"kind": "jsonl", "path": "alerts.jsonl", "min_severity": "warning"},
                  {"kind": "webhook", "url": "https://hooks.example.com/c", "retries": 2,
                   "timeout_s": 5, "token_env": "CARBON_WEBHOOK_TOKEN"}],
    "responses": {"cumulative": {"pause_days": 2, "raise_reserve_share": 0.05}},
}  # fmt: skip
CONFIG["audit"] = {"key_file": "audit.key"}
BOOK = tomllib.loads((DEFAULTS / "power_company_book.toml").read_text())
SEEN: Counter[str] = Counter()

HOSTILE = st.one_of(
    st.sampled_from([0, -1, 1, 2, 10**18, -(10**18), 2**63, 2**70, 2100, 1969, 1990, 2061]),
    st.sampled_from([math.inf, -math.inf, math.nan, 1e300, -1e300, 1e-300, 0.0, -0.0, 0.5]),
    st.sampled_from(["", " ", "/dev/null", "/", "..", "../../..", "/etc/passwd", "a\tb",
                     "x" * 5000, "2026-13-45", "reference", "cea", "eua", "-", "nan"]),
    st.sampled_from([True, False, [], {}, [1, "a"], {"a": 1}, [{}], [[1]], {"x": {"y": 0}}]),
    st.sampled_from([dt.date(1970, 1, 1), dt.date(1990, 6, 30), dt.date(2100, 1, 1),
                     dt.datetime(2026, 1, 1, 12, 0)]),
    st.integers(), st.floats(), st.text(max_size=20),
)  # fmt: skip


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path in a TOML value (tables by key, lists by index)."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            found += _paths(inner, (*prefix, i))
    return found


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


@st.composite
def mutated(draw, base: dict) -> tuple[dict, list[str]]:
    """``base`` with one to three mutations; returns it and the names of the keys touched."""
    data = _copy(base)
    touched = []
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(data)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        last = path[-1]
        action = draw(st.sampled_from(["replace", "replace", "replace", "delete", "add"]))
        if action == "delete" and isinstance(parent, dict):
            del parent[last]
        elif action == "add" and isinstance(parent, dict):
            last = draw(st.sampled_from(["bogus", "Seed", "paths ", "lambda_", "2099"]))
            parent[last] = _copy(draw(HOSTILE))
        else:
            parent[last] = _copy(draw(HOSTILE))
        touched += [str(p) for p in path if isinstance(p, str)] + [str(last)]
    return data, touched


def _string(text: str) -> str:
    """A TOML basic string (JSON's escapes, and DEL, which TOML also forbids raw)."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_key(key: str) -> str:
    return _string(str(key))


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def dump(data: dict) -> str:
    """TOML for a parsed file: every top-level key as ``key = <inline value>``."""
    return "\n".join(f"{_toml_key(k)} = {_toml(v)}" for k, v in data.items()) + "\n"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


def _use(config) -> None:
    """What the night does first with a configuration: nothing here may raise."""
    for entity in config.entities:
        book = entity.book
        book.deadline, book.coverage(), book.expected_shortfall_t(), book.reserve_floor_t
        book.obligation.scenarios(8, config.run.seed)
    config.run.out.resolve()
    if config.run.store is not None:
        config.run.store.resolve()


def _check(folder: Path, config: dict, book: dict, touched: list[str]) -> None:
    (folder / "book.toml").write_text(dump(book), encoding="utf-8")
    entities = config.get("entities")
    first = entities[0] if isinstance(entities, list) and entities else None
    if isinstance(first, dict) and first.get("book") == "power_company_book.toml":
        first["book"] = "book.toml"
    path = folder / "desk.toml"
    path.write_text(dump(config), encoding="utf-8")
    try:
        loaded = load_config(path)
    except ConfigurationError as exc:
        message = str(exc)
        assert message.startswith(str(path)), message
        named = [k for k in touched if re.search(rf"(^|[\s.\[']){re.escape(k)}\b", message)]
        assert named or re.search(r"\b[\w.\[\]]+ (= |is required)", message), message
        SEEN["refused"] += 1
        return
    _use(loaded)
    SEEN["loaded"] += 1


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=mutated(CONFIG))
def test_mutated_configurations(folder, config):
    data, touched = config
    _check(folder, data, _copy(BOOK), touched)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(book=mutated(BOOK))
def test_mutated_books(folder, book):
    data, touched = book
    _check(folder, _copy(CONFIG), data, touched)


def test_zz_counts():
    """The figures of the two runs above (pytest runs this module's tests in order)."""
    print(f"\nfuzzed configurations and books: {SEEN['loaded']} loaded, {SEEN['refused']} "
          "refused with a ConfigurationError naming the key, 0 other exceptions")  # fmt: skip
