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
    killed or failing halfway leaves the old folder or the new one, never a mix: the files go
    to a hidden temporary folder beside ``folder``, which then takes its place. An old folder
    is moved aside first, put back if the swap fails, and removed only after it succeeded; a
    run killed between the two renames leaves it aside, and the next write puts it back first.
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    _restore_aside(folder)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}-new-"))
    aside = None
    try:
        for name, write in writers.items():
            path = staging / name
            path.parent.mkdir(parents=True, exist_ok=True)
            write(path)
            _usual_mode(path)
        _usual_dir_mode(staging)
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


def _usual_dir_mode(path: Path) -> None:
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o777 & ~umask)
