"""Writing output files so that a run killed halfway leaves no half-written file behind."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path


def write_all_atomic(writers: dict[Path, Callable[[Path], None]]) -> tuple[Path, ...]:
    """Write several files so that a failure leaves all the old ones: every file goes to a
    temporary beside its target first, and only when all are written do they replace their
    targets (each replacement is one step; a crash between two leaves a mixed set, never a
    half-written file)."""
    temporaries: dict[Path, Path] = {}
    try:
        for path, write in writers.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(
                dir=path.parent, prefix=f".{path.stem}-", suffix=path.suffix
            )
            os.close(handle)
            temporaries[path] = Path(name)
            write(Path(name))
            _usual_mode(Path(name))
        for path, temporary in temporaries.items():
            os.replace(temporary, path)
    finally:
        for temporary in temporaries.values():
            temporary.unlink(missing_ok=True)
    return tuple(writers)


def _usual_mode(path: Path) -> None:
    """mkstemp makes files private; give them the mode the umask gives new files."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def write_folder_atomic(folder: Path, writers: dict[str, Callable[[Path], None]]) -> Path:
    """Write a whole folder (``writers`` maps relative file names to writers) so that a run
    killed halfway leaves either the old folder or the new one, never a mix: the files go to a
    hidden temporary folder beside ``folder``, which then takes its place (an old folder is
    moved aside first and removed after)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}-new-"))
    old = None
    try:
        for name, write in writers.items():
            path = staging / name
            path.parent.mkdir(parents=True, exist_ok=True)
            write(path)
            _usual_mode(path)
        _usual_dir_mode(staging)
        if folder.exists():
            old = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}-old-"))
            os.replace(folder, old / folder.name)
        os.replace(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    return folder


def _usual_dir_mode(path: Path) -> None:
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o777 & ~umask)
