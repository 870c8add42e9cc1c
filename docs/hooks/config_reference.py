"""mkdocs hook: the configuration reference's tables, generated at build time.

Keys, types, bounds and defaults come from the pydantic models of ``desk.config.schema`` (the
file boundary of desk.toml and the book file) and from the frozen dataclasses of
``engine.alerts.settings`` (the ``[alerts]`` rules). A key's meaning is the comment beside it in
``desk/defaults/*.toml`` (what ``carbon init`` writes), else an entry of ``MEANINGS`` below. A
key with no meaning, or a meaning for a key that no longer exists, stops the build: the page
cannot drift from the code.

A page asks for a table with a marker line: ``<!-- config: desk -->``, ``<!-- config: book -->``
or ``<!-- config: alerts -->``.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
MARKER = re.compile(r"^<!-- config: (desk|book|alerts) -->$", re.M)

# Meanings of the keys that the example files leave without a comment (or leave out).
MEANINGS = {
    "desk": {
        "run.store": "the SQLite store of alerts, runs and the audit chain, relative to this "
        'file (left out: `store.sqlite` beside it); `"user"`: the per-user store '
        "`$XDG_DATA_HOME/carbon-desk/store.sqlite`; `--store` and `CARBON_STORE` take "
        "precedence",
        "run.stability_sets": "today's decision is re-solved on this many disjoint sets of the "
        "paths, each reduced to `scenarios`: its spread in plan.json (`decision_spread`) and "
        "the report (0: off)",
        "run.versus_paths": "the rule strategies are played by the backtester on this many of "
        "the paths, with the same emissions, beside the plan: plan.json `vs_best_rule` (0: off)",
        "targets.compliance_cost_max": "the plan's expected compliance cost out of sample, at "
        "most (the market's currency)",
        "targets.cost_saving_min": "the saving against buying in the last weeks, at least (the "
        "market's currency)",
        "markets.<code>.source": "`reference` (the embedded seeded market) or a price file (Wind, "
        "exchange bulletins, ICAP, EDB or plain date/price; CSV, Parquet or Excel)",
        "markets.<code>.model_file": "a pinned model.json to simulate from, instead of the "
        "validated choice",
        "markets.<code>.min_observations": "the fewest returns a fit accepts",
        "markets.<code>.format": "the source's format; `auto` detects it",
        "markets.<code>.sheet": "a workbook's sheet, by name or number from 1",
        "markets.<code>.segment": "a Wind export's series: the total, the listing or block trades",
        "markets.<code>.instrument": "a Wind or EDB export's instrument, by a word or its ID",
        "markets.<code>.system": "an ICAP export's system",
        "markets.<code>.date_column": "a plain table's date column",
        "markets.<code>.price_column": "a plain table's price column",
        "markets.<code>.strict": "make every validation warning an error",
        "markets.<code>.keep_outliers": "keep the rows flagged as absurd closes in fits, alerts "
        "and backtests",
        "entities[].name": "the entity's name in the report, the plans and the store",
        "entities[].book": "the entity's book file (below), relative to desk.toml's folder",
        "alerts": "the alert rules, notifiers and responses (below)",
        "targets.intensity_reduction": "the targeted cut in intensity (t CO2 per unit of "
        "output) as a share: 0.15 is -15 %; goes with intensity_base",
        "targets.intensity_base": "the base-year intensity the cut is measured from",
        "targets.intensity_target_year": "the year the cut is due",
        "audit.key_file": "the key that authenticates the store's audit chain "
        "(`carbon audit init-key` writes it)",
        "markets.<code>.forwards[].name": "who quotes (a bank, a broker): it names the hedge in "
        "the plan; unique among an entity's quotes, its market's and its own",
        "markets.<code>.forwards[].delivery": "the date the allowances are delivered and paid: on "
        "or before the entity's surrender deadline, not before the night's last close (a stale "
        "quote fails its entity, exit 4)",
        "markets.<code>.forwards[].max_t": "the most tonnes on offer",
        "markets.<code>.forwards[].price": "a fixed price, currency/t; give either `price` or "
        "`carry_rate`",
        "markets.<code>.forwards[].carry_rate": "cost of carry, a share a year (0.025: 2.5 %/yr): "
        "the price is the night's last close x exp(carry_rate x days to delivery / 365) + premium",
        "markets.<code>.forwards[].premium": "currency/t on top of the carried close (with "
        "`carry_rate` only)",
        "entities[].forwards[]": "quotes offered to this entity only, beside its market's, with "
        "the keys of a market's quotes (above)",
        "entities[].optimiser": "this entity's optimiser settings: any key of `[optimiser]`; the "
        "keys it gives replace those of `[optimiser]`, the others are kept",
        "optimiser.penalty_multiple": "penalty per tonne short, x the deadline price (none: the "
        "market's rule)",
        "optimiser.mode": '`"mean_cvar"` minimises E[cost] + lambda x CVaR; `"min_cvar"` '
        "minimises CVaR with E[cost] <= cost_budget (the frontier is then skipped)",
        "optimiser.cost_budget": 'the E[cost] limit of mode `"min_cvar"`, currency (required '
        "with it, refused without it)",
        "optimiser.solvers": "the primary solver and the fallback tried once when it fails "
        "(cvxpy names)",
    },
    "book": {
        "entity": "the entity's name",
        "market": "the market whose rules apply (a code of `engine/markets.py`)",
        "cycle_year": "the compliance cycle: cycle Y is surrendered by 31 December of Y + 1",
        "allowances_by_vintage.<year>": "allowances held, by vintage year",
        "forwards[].tonnes": "an existing forward purchase: tonnes",
        "forwards[].price": "its price per tonne (sunk: the optimiser does not re-decide it)",
        "forwards[].delivery": "its delivery date (YYYY-MM-DD), within the cycle",
        "pledges[].tonnes": "allowances pledged to a bank: they cannot be sold",
        "pledges[].loan": "the loan they secure",
        "notes": "free text",
        "cash": "cash held, in the market's currency",
        "reserve_floor_share": "keep at least this share of expected emissions as a reserve",
        "pledges[].trigger_ltv": "the loan-to-value that needs attention (a warning alert)",
        "pledges[].call_ltv": "the loan-to-value of a margin call (a critical alert)",
        "obligation.expected_output": "output this cycle (MWh for a power company)",
        "obligation.output_sd_share": "output uncertain to this share (s.d.)",
        "obligation.intensity": "t CO2 per unit of output: emissions = intensity x output",
        "obligation.benchmark": "free allocation per unit of output (t per MWh)",
        "obligation.preallocation_share": "the share of the base year's allocation that arrives "
        "in advance; the rest is trued up after verification",
        "obligation.intensity_sd_share": "intensity uncertain to this share (s.d.)",
    },
    "alerts": {
        "rearm_share": "a price-move rule re-arms once its move is back within this share of "
        "its threshold (1.0: as soon as the condition clears)",
        "*.enabled": "the rule is checked",
        "*.severity": "the severity at the threshold (`info` or `warning`; critical has its "
        "own level)",
        "close_to_close.threshold": "warn at a move of this share between consecutive sessions",
        "close_to_close.critical": "critical at this move (false: off)",
        "cumulative.threshold": "warn at a move of this share from the window's high or low",
        "cumulative.critical": "critical at this move (false: off)",
        "cumulative.window": "trading sessions in the window (XSHG calendar)",
        "reference.price": "the price the current plan was made at; the rule is off when absent",
        "reference.label": "the reference price's name in messages",
        "reference.threshold": "warn at a move of this share from the reference price",
        "reference.critical": "critical at this move (false: off)",
        "band_lock.ticks": "a close within this many ticks of the band's limit is locked (0: at "
        "the limit to the tick)",
        "band_lock.critical_sessions": "locked this many sessions in a row is critical",
        "volatility.threshold_pct": "warn when the next session's s.d. is above this, % a day",
        "volatility.critical_pct": "critical above this, % a day",
        "volatility.ratio": "warn when the s.d. is this multiple of its long-run level",
        "volatility.critical_ratio": "critical at this multiple",
        "volatility.long_run": "`auto`: unconditional if the fit is stationary, trailing if "
        "integrated; or `unconditional`, `trailing`",
        "volatility.long_run_window": "sessions of the trailing long-run level",
        "coverage.days_before_deadline": "check a book's coverage within this many calendar days "
        "of the deadline",
        "coverage.critical_days": "critical within this many days",
        "coverage.floor_share": "the coverage floor as a share of expected emissions (default: "
        "the book's reserve_floor_share)",
        "coverage.include_true_up": "count the expected true-up as covered",
    },
}


# Tables that repeat another table's keys: one row each, pointing at the keys it repeats.
REPEATS = {
    "entities[].forwards[]": "list of tables",
    "entities[].optimiser": "table (optional)",
}

TABLES = {  # a TOML table's name -> the name of its keys in the reference
    "entities": "entities[]",
    "forwards": "forwards[]",
    "pledges": "pledges[]",
    "allowances_by_vintage": "allowances_by_vintage.<year>",
    "markets.<code>.forwards": "markets.<code>.forwards[]",
    "entities.forwards": "entities[].forwards[]",
    "entities.optimiser": "entities[].optimiser",
}


def _toml_comments(path: Path) -> dict[str, str]:
    """``table.key -> comment`` for every ``key = value  # comment`` line of a TOML file."""
    found, table = {}, ""
    for line in path.read_text().splitlines():
        header = re.match(r"^\s*\[\[?([^\]]+)\]\]?", line)
        if header:
            name = header.group(1)
            table = re.sub(r"^markets\.[^.]+(?=$|\.)", "markets.<code>", name)
            table = TABLES.get(table, table)
            continue
        item = re.match(r"^#?\s*([A-Za-z_0-9]+)\s*=\s*[^#]*#\s*(.+)$", line)
        if item:
            key = item.group(1)
            full = table if table.endswith("<year>") else f"{table}.{key}" if table else key
            found.setdefault(full, item.group(2).strip())
    return found


def _bounds(metadata: list[Any]) -> list[str]:
    words = {
        "ge": ">=",
        "gt": ">",
        "le": "<=",
        "lt": "<",
        "min_length": "at least",
        "max_length": "at most",
    }
    out = []
    for item in metadata:
        for attr, word in words.items():
            value = getattr(item, attr, None)
            if value is not None and not (attr == "max_length" and value == 4096):
                items = attr.endswith("_length")
                out.append(f"{word} {_number(value)}" + (" items" if items else ""))
    return out


def _type(annotation: Any) -> tuple[str, list[str]]:
    """A readable type and its bounds, through Annotated, unions and lists."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        base, *meta = typing.get_args(annotation)
        name, bounds = _type(base)
        for item in meta:
            bounds += _bounds(getattr(item, "metadata", [item]))
        if name == "text":
            bounds = [b.replace(" items", " characters") for b in bounds]
        return name, bounds
    if origin in (typing.Union, types.UnionType):
        parts = [_type(a) for a in typing.get_args(annotation) if a is not type(None)]
        name = " or ".join(p[0] for p in parts)
        optional = type(None) in typing.get_args(annotation)
        return name + (" (optional)" if optional else ""), [b for p in parts for b in p[1]]
    if origin is list:
        inner, bounds = _type(typing.get_args(annotation)[0])
        return f"list of {inner}", bounds
    if origin is dict:
        return "table", []
    if origin is typing.Literal:
        return " \\| ".join(f'`"{a}"`' for a in typing.get_args(annotation)), []
    if annotation is typing.Any:
        return "date (YYYY-MM-DD)", []
    return {int: "integer", float: "number", str: "text", bool: "boolean"}.get(
        annotation, getattr(annotation, "__name__", str(annotation))
    ), []


def _number(value: float) -> str:
    """10000 as 10,000, 2060 as 2060, 1e12 as 1e12, 0.02 as 0.02."""
    if value == 2**63 - 1:
        return "2^63 - 1"
    if float(value).is_integer() and abs(value) <= 1e7:
        return f"{int(value):,}" if abs(value) >= 10_000 else str(int(value))
    return f"{value:g}".replace("e+", "e")


def _default(value: Any) -> str:
    if value is None:
        return "none"
    if value is dataclasses.MISSING or repr(value) == "PydanticUndefined":
        return "**required**"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, int | float) and not isinstance(value, bool):
        big = float(value).is_integer() and abs(value) >= 1000
        return f"`{int(value):_}`" if big else f"`{value!r}`"
    if isinstance(value, str):
        return f'`"{value}"`'
    if isinstance(value, list):
        return "`[" + ", ".join(repr(v) for v in value) + "]`"
    return "see below" if isinstance(value, dict) else f"`{value!r}`"


def _exactly(bounds: list[str]) -> list[str]:
    """``at least 2 items; at most 2 items`` reads ``exactly 2 items``."""
    low = next((b for b in bounds if b.startswith("at least ")), None)
    if low and low.replace("at least", "at most") in bounds:
        bounds = [b for b in bounds if b not in (low, low.replace("at least", "at most"))]
        bounds.insert(0, low.replace("at least", "exactly"))
    return bounds


def _pydantic_rows(model: Any, prefix: str) -> list[tuple[str, str, str, str]]:
    from pydantic import BaseModel

    rows = []
    for name, field in model.model_fields.items():
        key = field.alias or name
        full = f"{prefix}.{key}" if prefix else key
        annotation = field.annotation
        inner = [a for a in typing.get_args(annotation) if isinstance(a, type)]
        models = [a for a in [annotation, *inner] if isinstance(a, type)]
        nested = next((a for a in models if issubclass(a, BaseModel)), None)
        repeat = full + ("[]" if typing.get_origin(annotation) is list else "")
        if repeat in REPEATS:
            rows.append((repeat, REPEATS[repeat], "", "none"))
            continue
        if nested is not None:
            sub = full + ("[]" if typing.get_origin(annotation) is list else "")
            sub = "markets.<code>" if full == "markets" else sub
            rows += _pydantic_rows(nested, sub)
            continue
        kind, bounds = _type(annotation)
        bounds = _bounds(field.metadata) + bounds
        if kind == "text":
            bounds = [b.replace(" items", " characters") for b in bounds]
        if full == "allowances_by_vintage":
            full, kind = "allowances_by_vintage.<year>", "number, tonnes"
        default = field.default if field.default_factory is None else field.default_factory()
        rows.append((full, kind, "; ".join(_exactly(bounds)), _default(default)))
    return rows


def _alert_rows() -> list[tuple[str, str, str, str]]:
    from engine.alerts.settings import AlertRules

    rows = []
    for rule in dataclasses.fields(AlertRules):
        if dataclasses.is_dataclass(rule.default_factory):
            for item in dataclasses.fields(rule.default_factory):
                kind, _ = _type(typing.get_type_hints(rule.default_factory)[item.name])
                rows.append((f"{rule.name}.{item.name}", kind, "", _default(item.default)))
        else:
            kind, _ = _type(typing.get_type_hints(AlertRules)[rule.name])
            rows.append((rule.name, kind, "", _default(rule.default)))
    return rows


def _table(kind: str) -> str:
    if kind == "alerts":
        rows, prefix = _alert_rows(), "alerts."
        comments: dict[str, str] = {}
    else:
        from desk.config.schema import BookModel, DeskModel

        model = DeskModel if kind == "desk" else BookModel
        source = "desk.toml" if kind == "desk" else "power_company_book.toml"
        rows, prefix = _pydantic_rows(model, ""), ""
        comments = _toml_comments(ROOT / "desk" / "defaults" / source)
    meanings = MEANINGS[kind]
    keys = {r[0] for r in rows}
    stale = [k for k in meanings if not k.startswith("*") and k not in keys]
    if stale:
        raise ValueError(f"config_reference: meanings for keys that no longer exist: {stale}")
    lines = ["| key | type | bounds | default | meaning |", "| --- | --- | --- | --- | --- |"]
    for key, type_, bounds, default in rows:
        rule_default = "*." + key.split(".")[-1]
        meaning = meanings.get(key) or comments.get(key) or meanings.get(rule_default)
        if not meaning:
            raise ValueError(
                f"config_reference: {prefix}{key} has no meaning: comment it in "
                f"desk/defaults/ or add it to MEANINGS in docs/hooks/config_reference.py"
            )
        meaning = re.sub(r"<(?=[A-Za-z/])", "&lt;", meaning)  # runs/<as-of date>/ is no tag
        lines.append(f"| `{prefix}{key}` | {type_} | {bounds} | {default} | {meaning} |")
    return "\n".join(lines)


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    return MARKER.sub(lambda m: _table(m.group(1)), markdown)
