"""Folders written all or nothing: a failed swap puts the old folder back, and a folder a killed
run left aside is restored by the next write."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from desk import files
from desk.files import write_folder_atomic


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
