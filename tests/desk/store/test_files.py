"""Folders written all or nothing: a failed swap puts the old folder back, and a folder a killed
run left aside is restored by the next write."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from desk.store import files
from desk.store.files import write_folder_atomic


def writers(text: str) -> dict:
    return {
        "a.txt": lambda p: p.write_text(text),
        "sub/b.txt": lambda p: p.write_text(text * 2),
    }


def contents(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): p.read_text() for p in folder.rglob("*") if p.is_file()}


def test_a_folder_replaces_the_old_one_whole(tmp_path: Path):
    target = tmp_path / "runs" / "night"
    write_folder_atomic(target, writers("old"))
    write_folder_atomic(target, {"c.txt": lambda p: p.write_text("new")})
    assert contents(target) == {"c.txt": "new"}
    assert [p.name for p in target.parent.iterdir()] == ["night"]  # nothing left beside it


def test_a_failing_writer_leaves_the_old_folder(tmp_path: Path):
    target = tmp_path / "night"
    write_folder_atomic(target, writers("old"))

    def fail(path: Path) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_folder_atomic(target, {"a.txt": lambda p: p.write_text("new"), "b.txt": fail})
    assert contents(target) == {"a.txt": "old", "sub/b.txt": "oldold"}
    assert [p.name for p in tmp_path.iterdir()] == ["night"]


def test_a_failed_swap_puts_the_old_folder_back(tmp_path: Path, monkeypatch):
    target = tmp_path / "night"
    write_folder_atomic(target, writers("old"))
    real = os.replace

    def replace(source, destination):
        if Path(source).name.startswith(".night-new-"):
            raise OSError("rename refused")
        return real(source, destination)

    monkeypatch.setattr(files.os, "replace", replace)
    with pytest.raises(OSError, match="rename refused"):
        write_folder_atomic(target, writers("new"))
    assert contents(target) == {"a.txt": "old", "sub/b.txt": "oldold"}


def test_a_folder_left_aside_by_a_killed_run_comes_back(tmp_path: Path):
    """Killed between moving the old folder aside and moving the new one in."""
    aside = tmp_path / ".night-old-x1"
    (aside / "night").mkdir(parents=True)
    (aside / "night" / "a.txt").write_text("old")
    write_folder_atomic(tmp_path / "other", writers("x"))  # another night does not touch it
    assert (aside / "night" / "a.txt").is_file()
    with pytest.raises(OSError, match="boom"):
        write_folder_atomic(tmp_path / "night", {"a.txt": _boom})
    assert contents(tmp_path / "night") == {"a.txt": "old"}
    assert not aside.exists()


def _boom(path: Path) -> None:
    raise OSError("boom")


def test_staging_folders_left_by_a_killed_run_are_removed(tmp_path: Path):
    """A run killed while writing leaves ``.<date>-new-*``; the next night removes those older
    than its own process, of any date, and leaves a younger one (a concurrent run's)."""
    stale = [tmp_path / ".2026-06-29-new-k1l2", tmp_path / ".2026-06-30-new-x9y8"]
    for folder in stale:
        (folder / "power-co").mkdir(parents=True)
        (folder / "run.json").write_text("{}")
        os.utime(folder, (files.STARTED - 3600, files.STARTED - 3600))
    young = tmp_path / ".2026-06-30-new-now1"
    young.mkdir()
    write_folder_atomic(tmp_path / "2026-06-30", writers("x"))
    assert sorted(p.name for p in tmp_path.iterdir()) == [".2026-06-30-new-now1", "2026-06-30"]


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077])
def test_a_run_folder_is_private_whatever_the_umask(tmp_path: Path, umask: int, monkeypatch):
    old = os.umask(umask)
    try:
        monkeypatch.setattr(files.os, "umask", _no_umask)  # the modes never come from it
        write_folder_atomic(tmp_path / "runs" / "night", writers("x"))
    finally:
        monkeypatch.undo()
        os.umask(old)
    modes = {str(p.relative_to(tmp_path)): stat.S_IMODE(p.stat().st_mode)
             for p in tmp_path.rglob("*")}  # fmt: skip
    assert modes == {"runs": 0o700, "runs/night": 0o700, "runs/night/a.txt": 0o600,
                     "runs/night/sub": 0o700, "runs/night/sub/b.txt": 0o600}  # fmt: skip


def _no_umask(mask: int) -> int:
    raise AssertionError("the process umask is shared by every thread: do not change it")


def test_user_outputs_keep_the_umask_mode_read_without_changing_it(tmp_path: Path):
    old = os.umask(0o027)
    try:
        assert files.current_umask() == 0o027
        (path,) = files.write_all_atomic({tmp_path / "t.csv": lambda p: p.write_text("x")})
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_private_outputs(tmp_path: Path):
    (path,) = files.write_all_atomic({tmp_path / "cache" / "v.json": lambda p: p.write_text("{}")},
                                     private=True)  # fmt: skip
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
