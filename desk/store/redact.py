"""Credentials in configurations: which names are secret, and how a recorded text hides them.

A notifier's credential is read from the environment (``token_env``) or from a file
(``token_file``) when it is sent, never written in the configuration; ``redact_text`` hides what
looks like one in any text the desk records (``run.json``'s copy of the configuration, the
store's run record, the audit chain), and ``redact_url`` the user, password and query of a URL
shown in a name or an error.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

REDACTED = "<redacted>"
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
_SECRET_WORDS = re.compile(r"token|secret|passw|api[-_]?key|private[-_]?key|signature|auth")
_ASSIGNMENT = re.compile(
    r"""(?P<key>["']?[\w.-]+["']?)(?P<eq>\s*=\s*)(?P<value>"(?:[^"\\]|\\.)*"|'[^']*'|[^\s,}#]+)"""
)
_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s\"']+@")


def is_secret_name(name: str) -> bool:
    """Whether a header or key named ``name`` holds a credential (Authorization, Cookie,
    X-Api-Key, any name with token, secret, password, key or signature in it). ``*_env`` and
    ``*_file`` keys name where a secret is, not the secret."""
    lowered = name.strip().strip("\"'").lower()
    if lowered.endswith(("_env", "_file", "-env", "-file")):
        return False
    if lowered in SECRET_HEADERS:
        return True
    return (
        bool(_SECRET_WORDS.search(lowered))
        or lowered == "key"
        or lowered.endswith(("-key", "_key"))
    )


_QUERY = re.compile(r"(?P<before>[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"'?#]*)\?[^\s\"'#]*")


def redact_text(text: str) -> str:
    """``text`` (a TOML configuration) with the value of every secret-looking assignment,
    every URL's user and password, and every URL's query (where tokens travel) replaced by
    ``<redacted>``."""

    def hide(match: re.Match[str]) -> str:
        if not is_secret_name(match["key"]):
            return match[0]
        return f'{match["key"]}{match["eq"]}"{REDACTED}"'

    text = _USERINFO.sub(lambda m: f"{m['scheme']}{REDACTED}@", text)
    text = _QUERY.sub(lambda m: f"{m['before']}?{REDACTED}", text)
    return _ASSIGNMENT.sub(hide, text)


def redact_url(url: str) -> str:
    """A URL fit to show: no user or password, and the query replaced by ``<redacted>``."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.port is not None:
            host = f"{host}:{parts.port}"
    except ValueError:
        return REDACTED
    query = REDACTED if parts.query else ""
    return urlunsplit((parts.scheme, host, parts.path, query, ""))
