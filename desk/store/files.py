"""Writing output files so that a run killed halfway leaves no half-written file behind, and
making the desk's private files and folders (the store, the run folders) private to their owner.

Modes are set per file (``os.open`` with a mode, ``os.chmod`` after ``mkstemp``, ``os.mkdir``
with a mode), never by changing the process umask, which is shared by every thread.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700
STARTED = time.time()
"""When this process imported the module: staging folders older than this are leftovers of a
killed run, never a concurrent one's."""


def current_umask() -> int:
    """The process umask, read without changing it (``/proc/self/status`` on Linux; 0o022
    where that is not available)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


def make_private_folder(folder: Path) -> None:
    """Make ``folder`` and its missing parents, each new one 0700 (existing ones are left as
    they are: a shared parent such as ``~/.local/share`` is not ours to change)."""
    missing = []
    for parent in (folder, *folder.parents):
        if parent.exists():
            if not parent.is_dir():
                raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(parent))
            break
        missing.append(parent)
    for path in reversed(missing):
        with contextlib.suppress(FileExistsError):
            os.mkdir(path, PRIVATE_FOLDER)


def make_private(path: Path) -> None:
    """Take group and other permissions off ``path`` (a file or a folder), when we own it."""
    try:
        mode = os.stat(path).st_mode & 0o777
        if mode & 0o077:
            os.chmod(path, mode & 0o700)
    except (PermissionError, FileNotFoundError):
        pass


def write_all_atomic(
    writers: dict[Path, Callable[[Path], None]], *, private: bool = False
) -> tuple[Path, ...]:
    """Write several files so that a failure leaves all the old ones: every file goes to a
    temporary beside its target first, and only when all are written do they replace their
    targets (each replacement is one step; a crash between two leaves a mixed set, never a
    half-written file). The files get the mode the umask gives new files (they are the
    user's outputs), or with ``private`` 0600 in new folders 0700 (the desk's own records:
    caches, anything beside the store)."""
    temporaries: dict[Path, Path] = {}
    mode = PRIVATE_FILE if private else 0o666 & ~current_umask()
    try:
        for path, write in writers.items():
            if private:
                make_private_folder(path.parent)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(
                dir=path.parent, prefix=f".{path.stem}-", suffix=path.suffix
            )
            os.close(handle)
            temporaries[path] = Path(name)
            write(Path(name))
            os.chmod(name, mode)
        for path, temporary in temporaries.items():
            os.replace(temporary, path)
    finally:
        for temporary in temporaries.values():
            temporary.unlink(missing_ok=True)
    return tuple(writers)


def write_folder_atomic(folder: Path, writers: dict[str, Callable[[Path], None]]) -> Path:
    """Write a whole folder (``writers`` maps relative file names to writers) so that a run
    killed or failing halfway leaves the old folder or the new one, never a mix: the files go
    to a hidden temporary folder beside ``folder``, which then takes its place. An old folder
    is moved aside first, put back if the swap fails, and removed only after it succeeded; a
    run killed between the two renames leaves it aside, and the next write puts it back first.
    Staging folders (``.<name>-new-*``) that a killed run left beside it, older than this
    process, are removed.

    The folder is private: 0700 folders (the new parents included), 0600 files.
    """
    make_private_folder(folder.parent)
    _restore_aside(folder)
    _remove_stale_staging(folder.parent)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}-new-"))
    aside = None
    try:
        for name, write in writers.items():
            path = staging / name
            make_private_folder(path.parent)
            write(path)
            os.chmod(path, PRIVATE_FILE)  # unreadable meanwhile: its folder is 0700
        os.chmod(staging, PRIVATE_FOLDER)
        if folder.exists():
            aside = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}-old-"))
            os.replace(folder, aside / folder.name)
        try:
            os.replace(staging, folder)
        except OSError:
            if aside is not None and not folder.exists():
                os.replace(aside / folder.name, folder)
            raise
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def _restore_aside(folder: Path) -> None:
    """Put back a folder that a killed write had moved aside (and remove empty leftovers)."""
    for aside in sorted(folder.parent.glob(f".{folder.name}-old-*")):
        kept = aside / folder.name
        if kept.is_dir() and not folder.exists():
            os.replace(kept, folder)
        shutil.rmtree(aside, ignore_errors=True)


def _remove_stale_staging(parent: Path, before: float | None = None) -> list[Path]:
    """Remove the ``.*-new-*`` staging folders in ``parent`` last changed before ``before``
    (default: this process's start), which only a killed run leaves; return them."""
    before = STARTED if before is None else before
    removed = []
    for staging in sorted(parent.glob(".*-new-*")):
        try:
            stale = staging.is_dir() and staging.stat().st_mtime < before
        except FileNotFoundError:
            continue
        if stale:
            shutil.rmtree(staging, ignore_errors=True)
            removed.append(staging)
    return removed
