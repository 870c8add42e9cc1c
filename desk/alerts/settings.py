"""The ``[alerts]`` section of a configuration file: the rules' settings, the notifiers and the
responses that alerts switch on in the strategies.

::

    [alerts]
    rearm_share = 0.5
    [alerts.cumulative]           # any rule of engine.alerts.AlertRules; the market's defaults
    threshold = 0.10              # apply to what is left out
    window = 20
    [alerts.volatility]
    enabled = false               # the check does not fit a volatility model

    [[alerts.notifiers]]
    kind = "jsonl"                # one JSON object a line ...
    path = "alerts.jsonl"         # ... appended to this file ("-": stdout)
    min_severity = "info"
    [[alerts.notifiers]]
    kind = "webhook"              # an HTTP POST of each alert as JSON
    url = "https://hooks.example.com/carbon"
    min_severity = "critical"
    timeout_s = 5                 # per try
    retries = 2                   # more tries after a timeout, a refused connection or a 5xx
    backoff_s = 1                 # 1 s, then 2 s, ... between tries
    token_env = "CARBON_WEBHOOK_TOKEN"  # sent as Authorization: Bearer <the variable's value>
    # token_file = "webhook.token"      # or read from this file (0600), when sending
    # url_env = "CARBON_WEBHOOK_URL"    # a URL that is itself a secret, instead of url
    headers = { Accept = "application/json" }  # never a credential: refused

    [alerts.responses]            # what an open alert of a rule makes the strategies do
    cumulative = { pause_days = 2, raise_reserve_share = 0.05 }

A notifier ``path`` is read from the configuration's folder and must stay inside it (no
absolute path, no ``..`` out of it) unless ``allow_absolute_paths = true`` is set in
``[alerts]``. Credentials are never written here (``desk.alerts.notify``, ``desk.store.redact``).

The same section sits in the nightly configuration (``desk.config.desk``) and in a file given to
``carbon alerts check --config``; there the store's path is read from ``[run] store`` as well,
and the audit key file from ``[audit] key_file``. Every error names the key
(``alerts.notifiers[1].url``) and the value (a credential's value is shown as ``<redacted>``).
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desk.alerts.notify import JsonLinesNotifier, Notifier, WebhookNotifier
from desk.store.redact import REDACTED, is_secret_name, redact_url
from desk.store.sqlite import STORE_FILE, USER_STORE, named_store
from engine.alerts import AlertRules, Response, responses_from_dict
from engine.alerts.settings import RULE_TYPES
from engine.errors import ConfigurationError
from engine.markets import MarketRules

NOTIFIER_KEYS = {
    "jsonl": {"kind", "name", "path", "min_severity"},
    "webhook": {
        "kind",
        "name",
        "url",
        "min_severity",
        "timeout_s",
        "retries",
        "backoff_s",
        "headers",
        "token_env",
        "token_file",
        "url_env",
    },
}
SECTION_KEYS = ("notifiers", "responses", "allow_absolute_paths")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class AlertConfig:
    """The ``[alerts]`` section, read: the rules for one market, the notifiers (in the order
    given) and the responses (rule -> Response)."""

    rules: AlertRules
    notifiers: tuple[Notifier, ...] = ()
    responses: Mapping[str, Response] = field(default_factory=dict)


@dataclass(frozen=True)
class AlertFile:
    """What ``carbon alerts ... --config FILE`` reads from a file: its ``[alerts]`` section and
    its store (``[run] store``; ``store.sqlite`` beside the file when it names none)."""

    path: Path
    section: Mapping[str, Any]
    store: Path | None
    audit_key_file: Path | None = None


def _bad(key: str, value: object, must: str) -> ConfigurationError:
    return ConfigurationError(f"{key} = {value!r}: {must}")


def parse_alert_config(
    section: Mapping[str, Any], market: MarketRules, *, base: Path | None = None
) -> AlertConfig:
    """Read an ``[alerts]`` section for ``market`` (whose defaults fill what it leaves out).
    Relative notifier file paths are read from ``base`` (the configuration file's folder)."""
    if not isinstance(section, Mapping):
        raise _bad("alerts", section, "must be a table")
    settings = {k: v for k, v in section.items() if k not in SECTION_KEYS}
    rules = AlertRules.from_dict(settings, base=AlertRules.for_market(market))
    anywhere = section.get("allow_absolute_paths", False)
    if not isinstance(anywhere, bool):
        raise _bad("alerts.allow_absolute_paths", anywhere, "must be true or false")
    notifiers = _notifiers(section.get("notifiers", []), base, anywhere)
    responses = _responses(section.get("responses", {}))
    return AlertConfig(rules, notifiers, responses)


def _notifiers(entries: object, base: Path | None, anywhere: bool) -> tuple[Notifier, ...]:
    if not isinstance(entries, list):
        raise _bad("alerts.notifiers", entries, "must be a list of [[alerts.notifiers]] tables")
    made: list[Notifier] = []
    for i, entry in enumerate(entries):
        where = f"alerts.notifiers[{i}]"
        if not isinstance(entry, Mapping):
            raise _bad(where, entry, "must be a table")
        kind = entry.get("kind")
        if kind not in NOTIFIER_KEYS:
            raise _bad(f"{where}.kind", kind, f"must be one of {', '.join(NOTIFIER_KEYS)}")
        extra = sorted(set(entry) - NOTIFIER_KEYS[kind])
        if extra:
            known = ", ".join(sorted(NOTIFIER_KEYS[kind]))
            raise _bad(
                f"{where}.{extra[0]}", entry[extra[0]], f"unknown for {kind}; known: {known}"
            )
        for key, value in entry.items():
            _check_type(f"{where}.{key}", key, value)
        try:
            notifier = _make(kind, entry, base, anywhere, where)
        except ConfigurationError as exc:
            raise ConfigurationError(f"{where}: {exc}") from None
        if any(n.name == notifier.name for n in made):
            raise _bad(f"{where}.name", notifier.name, "is used by another notifier")
        made.append(notifier)
    return tuple(made)


_TYPES: dict[str, tuple[type, ...]] = {
    "name": (str,),
    "path": (str,),
    "url": (str,),
    "min_severity": (str,),
    "kind": (str,),
    "timeout_s": (int, float),
    "backoff_s": (int, float),
    "retries": (int,),
    "headers": (dict,),
    "token_env": (str,),
    "token_file": (str,),
    "url_env": (str,),
}


def _check_type(key: str, name: str, value: object) -> None:
    kinds = _TYPES[name]
    if isinstance(value, bool) or not isinstance(value, kinds):
        words = {str: "text", int: "whole number", dict: "table"}
        kind = "number" if float in kinds else words[kinds[0]]
        raise _bad(key, REDACTED if name == "headers" else value, f"must be a {kind}")
    if isinstance(value, float) and not math.isfinite(value):
        raise _bad(key, value, "must be finite")
    if name in ("token_env", "url_env") and not _ENV_NAME.fullmatch(value):  # type: ignore[arg-type]
        raise _bad(key, value, "must name an environment variable (letters, digits, _)")
    if name == "headers":
        for header, text in value.items():  # type: ignore[union-attr]
            if is_secret_name(header):
                raise _bad(f"{key}.{header}", REDACTED, (
                    "holds a credential, which must not be written in the configuration: put "
                    'it in an environment variable named by token_env = "CARBON_WEBHOOK_TOKEN" '
                    "(or a file named by token_file)"))  # fmt: skip
            if not isinstance(text, str):
                raise _bad(f"{key}.{header}", text, "must be a text")


def _make(
    kind: str, entry: Mapping[str, Any], base: Path | None, anywhere: bool, where: str
) -> Notifier:
    least = entry.get("min_severity", "info" if kind == "jsonl" else "warning")
    if kind == "jsonl":
        path = entry.get("path", "-")
        if path != "-":
            path = str(_inside(base, path, anywhere, f"{where}.path"))
        return JsonLinesNotifier(
            name=entry.get("name", f"jsonl:{path}"), path=path, min_severity=least
        )
    url, url_env = entry.get("url", ""), entry.get("url_env")
    if not url and url_env is None:
        raise ConfigurationError('a webhook needs url = "https://..." (or url_env)')
    token_file = entry.get("token_file")
    if token_file is not None:
        token_file = str(_resolve(base, token_file))
    shown = redact_url(url) if url else f"${url_env}"
    return WebhookNotifier(
        name=entry.get("name", f"webhook:{shown}"),
        url=url,
        min_severity=least,
        timeout_s=float(entry.get("timeout_s", 5.0)),
        retries=int(entry.get("retries", 2)),
        backoff_s=float(entry.get("backoff_s", 1.0)),
        headers=dict(entry.get("headers", {})),
        token_env=entry.get("token_env"),
        token_file=token_file,
        url_env=url_env,
    )


def _resolve(base: Path | None, value: str) -> Path:
    path = Path(value).expanduser()
    return path if base is None or path.is_absolute() else base / path


def _inside(base: Path | None, value: str, anywhere: bool, key: str) -> Path:
    """A notifier's file, read from the configuration's folder; refused outside it (an
    absolute path, ``..``) unless ``allow_absolute_paths``, and refused when it is a folder."""
    if not value.strip() or "\0" in value:
        raise _bad(key, value, "must be '-' or a file path")
    path = _resolve(base, value)
    if base is not None and not anywhere:
        root = base.resolve()
        try:
            path.resolve().relative_to(root)
        except ValueError:
            raise _bad(key, value, (
                f"is outside the configuration's folder {root}: give a path inside it, or set "
                "allow_absolute_paths = true in [alerts]")) from None  # fmt: skip
    if path.is_dir():
        raise _bad(key, value, f"is a folder ({path}), not a file")
    return path


def _responses(table: object) -> dict[str, Response]:
    if isinstance(table, Mapping):
        for rule, body in table.items():
            if rule not in RULE_TYPES:
                raise _bad(
                    f"alerts.responses.{rule}",
                    body,
                    f"names no rule; rules: {', '.join(RULE_TYPES)}",
                )
    return responses_from_dict(table)  # type: ignore[arg-type]


def read_alert_file(path: str | Path) -> AlertFile:
    """The ``[alerts]`` section and the ``[run] store`` of a TOML file (other sections, those
    of the nightly configuration, are left to their readers). No store named: ``store.sqlite``
    beside the file; ``user``: the per-user store. A relative store path is read
    from the file's folder."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigurationError(f"{path}: no such configuration file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{path}: not valid TOML ({exc})") from None
    section = data.get("alerts", {})
    if not isinstance(section, Mapping):
        raise ConfigurationError(f"{path}: alerts = {section!r}: must be a table")
    run = data.get("run", {})
    store = run.get("store") if isinstance(run, Mapping) else None
    if store is not None and not isinstance(store, str):
        raise ConfigurationError(f"{path}: run.store = {store!r}: must be a path (a string)")
    if store is not None and not store.strip():
        raise ConfigurationError(f"{path}: run.store = '': must name a file (or be left out)")
    if store is None:  # a desk's store lives with its configuration
        store = path.parent / STORE_FILE
    elif store.strip() == USER_STORE:
        store = named_store(store)
    else:
        resolved = Path(store).expanduser()
        store = resolved if resolved.is_absolute() else path.parent / resolved
    audit_table = data.get("audit", {})
    key_file = audit_table.get("key_file") if isinstance(audit_table, Mapping) else None
    if key_file is not None and (not isinstance(key_file, str) or not key_file.strip()):
        raise ConfigurationError(f"{path}: audit.key_file = {key_file!r}: must be a file path")
    key_path = None if key_file is None else _resolve(path.parent, key_file)
    return AlertFile(path, section, store, key_path)


def load_alert_config(path: str | Path, market: MarketRules) -> tuple[AlertConfig, AlertFile]:
    """Read and check the ``[alerts]`` section of the file ``path`` for ``market``."""
    file = read_alert_file(path)
    try:
        return parse_alert_config(file.section, market, base=file.path.parent), file
    except ConfigurationError as exc:
        raise ConfigurationError(f"{file.path}: {exc}") from None
