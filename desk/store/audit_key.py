"""The audit key: a secret kept outside the store that authenticates the audit chain.

Each audit entry's hash is authenticated by ``HMAC-SHA256(key, hash)``, stored beside it; so
appending an entry, or rewriting one and recomputing the hashes after it, needs the key, which
whoever can write the store file does not have (keep the key readable by the desk's account
only, or in a secret store that sets the environment).

Where the key is read, first found first:

1. ``--key-file`` of a ``carbon audit`` command (or a ``key_file`` passed in code);
2. ``CARBON_AUDIT_KEY``: the key itself, as hex text (64 hex digits from ``init-key``);
3. ``CARBON_AUDIT_KEY_FILE``: a key file;
4. ``[audit] key_file`` of the configuration;
5. ``$XDG_CONFIG_HOME/carbon-desk/audit.key`` (``~/.config/carbon-desk/audit.key``) when it
   exists. ``carbon audit init-key`` writes it (0600; it refuses to overwrite one).

No key at all: the chain is kept with hashes alone (unkeyed), as stores made before the key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from desk.store.files import PRIVATE_FILE, make_private_folder
from engine.errors import ConfigurationError

KEY_ENV = "CARBON_AUDIT_KEY"
KEY_FILE_ENV = "CARBON_AUDIT_KEY_FILE"
KEY_FILE = "audit.key"
MIN_KEY_BYTES = 16


class AuditKeyError(ConfigurationError):
    """The audit key cannot be read, is malformed, is readable by others, or is not the key
    the store was keyed with. The message never shows the key."""


@dataclass(frozen=True)
class AuditKey:
    """A key and where it came from (``origin``: a file path or an environment variable).
    ``key_id`` names it in the store without revealing it."""

    secret: bytes
    origin: str

    def __repr__(self) -> str:  # never print the secret
        return f"AuditKey(key_id={self.key_id!r}, origin={self.origin!r})"

    @property
    def key_id(self) -> str:
        return hmac.new(self.secret, b"carbon-desk audit key id", hashlib.sha256).hexdigest()[:16]

    def mac(self, entry_hash: str) -> str:
        """The MAC of one entry: HMAC-SHA256 of its (hex) hash under this key."""
        return hmac.new(self.secret, entry_hash.encode("ascii"), hashlib.sha256).hexdigest()


def default_key_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/carbon-desk/audit.key``, or ``~/.config/carbon-desk/audit.key``."""
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_CONFIG_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".config"
    return root / "carbon-desk" / KEY_FILE


def _parse(text: str, origin: str) -> AuditKey:
    text = text.strip()
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        raise AuditKeyError(
            f"the audit key in {origin} is not hex text (carbon audit init-key writes one)"
        ) from None
    if len(secret) < MIN_KEY_BYTES:
        raise AuditKeyError(
            f"the audit key in {origin} has {len(secret)} bytes; at least {MIN_KEY_BYTES} "
            "(carbon audit init-key writes 32)"
        )
    return AuditKey(secret, origin)


def read_key_file(path: str | Path) -> AuditKey:
    """The key in ``path``; refused when the file is readable or writable by others."""
    path = Path(path).expanduser()
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise AuditKeyError(f"the audit key file {path} is not a file")
        if info.st_mode & 0o077:
            raise AuditKeyError(
                f"the audit key file {path} is open to other users (mode "
                f"{stat.S_IMODE(info.st_mode):04o}): chmod 600 {path}"
            )
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise AuditKeyError(f"no audit key file at {path} (carbon audit init-key)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AuditKeyError(f"cannot read the audit key file {path}: {exc}") from None
    return _parse(text, str(path))


def load_key(
    key_file: str | Path | None = None,
    configured: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> AuditKey | None:
    """The audit key (see the module for the order it is looked for in), or ``None``."""
    environ = os.environ if environ is None else environ
    if key_file is not None:
        return read_key_file(key_file)
    if environ.get(KEY_ENV, "").strip():
        return _parse(environ[KEY_ENV], f"${KEY_ENV}")
    if environ.get(KEY_FILE_ENV, "").strip():
        return read_key_file(environ[KEY_FILE_ENV])
    if configured is not None:
        return read_key_file(configured)
    default = default_key_path(environ)
    return read_key_file(default) if default.exists() else None


def create_key_file(path: str | Path | None = None, *, force: bool = False) -> AuditKey:
    """Write a new random 32-byte key as hex to ``path`` (default: ``default_key_path``),
    created 0600 in a 0700 folder; refuses to overwrite a key unless ``force``."""
    path = default_key_path() if path is None else Path(path).expanduser()
    make_private_folder(path.parent)
    text = secrets.token_hex(32)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    if force:
        path.unlink(missing_ok=True)
    try:
        handle = os.open(path, flags, PRIVATE_FILE)
    except FileExistsError:
        raise AuditKeyError(
            f"{path} already holds an audit key: a new one would not verify the entries it "
            "keyed (pass --force only if that store is gone)"
        ) from None
    except OSError as exc:
        raise AuditKeyError(f"cannot create the audit key file {path}: {exc.strerror}") from None
    with os.fdopen(handle, "w", encoding="ascii") as out:
        out.write(text + "\n")
    os.chmod(path, PRIVATE_FILE)
    return AuditKey(bytes.fromhex(text), str(path))
