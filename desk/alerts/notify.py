"""Notifiers: where stored alerts are sent, each from a least severity up.

- ``JsonLinesNotifier``: one JSON object a line, to stdout (``path = "-"``) or appended to a file;
- ``WebhookNotifier``: an HTTP POST of the alert as JSON, with a timeout, and retries with
  exponential backoff on connection errors, timeouts, 408, 429 and 5xx answers.

Delivery is at least once: an alert is stored first, with a pending delivery per notifier; a
delivery that fails stays in the store as failed and is tried again on the next check, so a dead
webhook never loses an alert (the webhook gets the alert's ``key`` in the ``X-Carbon-Alert-Key``
header to drop a repeat). When a notifier fails, its other deliveries wait for the next check
instead of each spending the full timeout and retries.

A webhook's credential is never part of the notifier's settings: ``token_env`` names the
environment variable and ``token_file`` the file it is read from when an alert is sent (sent as
``Authorization: Bearer <token>``); ``url_env`` does the same for a URL that is itself a secret.
A header that holds a credential (``desk.store.redact.is_secret_name``) is refused, and URLs
are shown without user, password or query in names and errors. A JSON-lines file is created 0600.
"""

from __future__ import annotations

import http.client
import json
import os
import sqlite3
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from desk.store.alerts import deliveries_due, record_delivery
from desk.store.files import PRIVATE_FILE, make_private_folder
from desk.store.redact import REDACTED, is_secret_name, redact_url
from desk.store.sqlite import transaction
from engine.alerts.records import SEVERITIES, Severity
from engine.errors import ConfigurationError

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class NotifyError(Exception):
    """A delivery failed; the message says where to and why."""


def _check_common(name: str, min_severity: str) -> None:
    if not name or not name.strip():
        raise ConfigurationError(f"a notifier needs a name, got {name!r}")
    if min_severity not in SEVERITIES:
        raise ConfigurationError(
            f"notifier {name!r}: min_severity = {min_severity!r} must be one of "
            f"{', '.join(SEVERITIES)}"
        )


@dataclass(frozen=True)
class JsonLinesNotifier:
    """Writes each alert as one JSON line to stdout (``path = "-"``) or appends it to the file
    ``path`` (made with its folder when missing)."""

    name: str
    path: str = "-"
    min_severity: Severity = "info"

    def __post_init__(self) -> None:
        _check_common(self.name, self.min_severity)
        if not self.path:
            raise ConfigurationError(f"notifier {self.name!r}: path must be '-' or a file path")

    def send(self, record: Mapping[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False) + "\n"
        if self.path == "-":
            try:
                sys.stdout.write(line)
                sys.stdout.flush()
            except OSError as exc:  # a closed pipe: the delivery is retried, the run goes on
                why = exc.strerror or exc
                raise NotifyError(f"cannot write to standard output: {why}") from None
            return
        try:
            folder = os.path.dirname(self.path)
            if folder:
                make_private_folder(Path(folder))
            handle = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE_FILE)
            with os.fdopen(handle, "a", encoding="utf-8") as out:
                out.write(line)
                out.flush()
                os.fsync(out.fileno())
        except OSError as exc:
            raise NotifyError(f"cannot append to {self.path}: {exc.strerror or exc}") from None


def _check_url(name: str, url: str, where: str = "url") -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(
            f"notifier {name!r}: {where} = {redact_url(url)!r} must be an http:// or https:// URL"
        )
    if parts.username is not None or parts.password is not None:
        raise ConfigurationError(
            f"notifier {name!r}: {where} = {redact_url(url)!r} holds a user or password, which "
            "must not be written in the configuration: use token_env or token_file"
        )


@dataclass(frozen=True)
class WebhookNotifier:
    """POSTs each alert as a JSON object to ``url`` (or to the URL in the environment variable
    ``url_env``); waits at most ``timeout_s`` a try, and tries ``retries`` more times after a
    retryable failure, ``backoff_s``, twice that, four times that... apart. ``headers`` are
    added to every request; the token read from ``token_env`` or ``token_file`` when sending
    goes in ``Authorization: Bearer ...``."""

    name: str
    url: str = ""
    min_severity: Severity = "warning"
    timeout_s: float = 5.0
    retries: int = 2
    backoff_s: float = 1.0
    headers: Mapping[str, str] = field(default_factory=dict)
    token_env: str | None = None
    token_file: str | None = None
    url_env: str | None = None

    def __post_init__(self) -> None:
        _check_common(self.name, self.min_severity)
        if bool(self.url) == bool(self.url_env):
            raise ConfigurationError(
                f"notifier {self.name!r}: give url or url_env (the environment variable that "
                "holds it), one of them"
            )
        if self.url:
            _check_url(self.name, self.url)
        if self.token_env is not None and self.token_file is not None:
            raise ConfigurationError(
                f"notifier {self.name!r}: token_env and token_file: give one of them"
            )
        for header in self.headers:
            if is_secret_name(header):
                raise ConfigurationError(
                    f"notifier {self.name!r}: headers.{header} = {REDACTED!r} holds a "
                    "credential, which must not be written in the configuration: put it in an "
                    'environment variable and name it with token_env = "CARBON_WEBHOOK_TOKEN" '
                    "(or in a file named by token_file)"
                )
        if not 0 < self.timeout_s <= 300:
            raise ConfigurationError(
                f"notifier {self.name!r}: timeout_s = {self.timeout_s!r} must lie in (0, 300]"
            )
        if not 0 <= self.retries <= 10:
            raise ConfigurationError(
                f"notifier {self.name!r}: retries = {self.retries!r} must lie in [0, 10]"
            )
        if not 0 <= self.backoff_s <= 60:
            raise ConfigurationError(
                f"notifier {self.name!r}: backoff_s = {self.backoff_s!r} must lie in [0, 60]"
            )

    def target(self) -> str:
        """The URL to post to (``url``, or the one in ``url_env``, read now)."""
        if not self.url_env:
            return self.url
        url = os.environ.get(self.url_env, "").strip()
        if not url:
            raise NotifyError(f"the environment variable {self.url_env} (url_env) is not set")
        try:
            _check_url(self.name, url, f"${self.url_env}")
        except ConfigurationError as exc:
            raise NotifyError(str(exc)) from None
        return url

    def token(self) -> str | None:
        """The credential from ``token_env`` or ``token_file``, read now (``None``: none)."""
        if self.token_env is not None:
            token = os.environ.get(self.token_env, "").strip()
            if not token:
                raise NotifyError(
                    f"the environment variable {self.token_env} (token_env) is not set"
                )
            return token
        if self.token_file is not None:
            try:
                info = os.stat(self.token_file)
                if info.st_mode & 0o077:
                    raise NotifyError(
                        f"the token file {self.token_file} is open to other users (mode "
                        f"{info.st_mode & 0o777:04o}): chmod 600 {self.token_file}"
                    )
                with open(self.token_file, encoding="utf-8") as handle:
                    token = handle.read().strip()
            except (OSError, UnicodeDecodeError) as exc:
                why = getattr(exc, "strerror", None) or type(exc).__name__
                raise NotifyError(f"cannot read the token file {self.token_file}: {why}") from None
            if not token:
                raise NotifyError(f"the token file {self.token_file} is empty")
            return token
        return None

    def send(self, record: Mapping[str, Any], sleep: Callable[[float], None] = time.sleep):
        body = json.dumps(record, ensure_ascii=False).encode("utf-8")
        url, token = self.target(), self.token()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": f"carbon-desk/{_version()}",
            "X-Carbon-Alert-Key": str(record.get("key", "")),
            **self.headers,
        }
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        problem = ""
        for attempt in range(self.retries + 1):
            if attempt:
                sleep(self.backoff_s * 2 ** (attempt - 1))
            request = urllib.request.Request(url, data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                    response.read()
                return
            except urllib.error.HTTPError as exc:
                exc.close()
                problem = f"HTTP {exc.code} {exc.reason}"
                if exc.code not in RETRY_STATUSES:
                    break
            except (urllib.error.URLError, TimeoutError, http.client.HTTPException, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                problem = f"{type(reason).__name__}: {reason}" if reason else type(exc).__name__
        tries = attempt + 1
        if token is not None:
            problem = problem.replace(token, REDACTED)
        raise NotifyError(
            f"POST {redact_url(url)} failed after {tries} tr{'y' if tries == 1 else 'ies'}: "
            f"{problem}"
        )


Notifier = JsonLinesNotifier | WebhookNotifier


def _version() -> str:
    try:
        return metadata.version("carbon-desk")
    except metadata.PackageNotFoundError:
        return "dev"


def notifier_levels(notifiers: Iterable[Notifier]) -> dict[str, str]:
    """name -> least severity, as ``alert_store.insert_alerts`` takes them."""
    return {n.name: n.min_severity for n in notifiers}


@dataclass(frozen=True)
class DeliveryReport:
    """What one round of deliveries did: how many were sent, which failed (alert id, notifier,
    error), and how many waited because their notifier had just failed."""

    sent: int
    failed: tuple[tuple[int, str, str], ...]
    waiting: int


def deliver_pending(
    conn: sqlite3.Connection,
    notifiers: Iterable[Notifier],
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryReport:
    """Send every pending or failed delivery to the configured notifiers, and record each
    outcome in its own short transaction (no lock is held while a webhook answers)."""
    by_name = {n.name: n for n in notifiers}
    sent, failed, waiting, down = 0, [], 0, set()
    for delivery in deliveries_due(conn, by_name):
        if delivery.notifier in down:
            waiting += 1
            continue
        notifier = by_name[delivery.notifier]
        try:
            if isinstance(notifier, WebhookNotifier):
                notifier.send(delivery.alert.to_dict(), sleep=sleep)
            else:
                notifier.send(delivery.alert.to_dict())
            error = None
            sent += 1
        except NotifyError as exc:
            error = str(exc)
            failed.append((delivery.alert.id, notifier.name, error))
            down.add(notifier.name)
        with transaction(conn):
            record_delivery(conn, delivery.alert.id, delivery.notifier, error=error)
    return DeliveryReport(sent, tuple(failed), waiting)
