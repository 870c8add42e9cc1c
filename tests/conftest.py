"""Shared fixtures: where the real market files are, small files written on the fly, and a
command run with its output into a pipe nobody reads."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# One cache of the model choice's validations for the whole run (and the commands it starts):
# the reference market is validated once, not by every nightly run a test makes.
os.environ.setdefault("CARBON_VALIDATION_CACHE", tempfile.mkdtemp(prefix="carbon-validation-"))
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def shared_data_dir() -> Path | None:
    """``../shared/data`` beside the checkout (or ``CARBON_SHARED_DATA``), if it is there."""
    configured = os.environ.get("CARBON_SHARED_DATA")
    folder = Path(configured) if configured else REPO.parent / "shared" / "data"
    return folder if folder.is_dir() else None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real market files. Absent on a machine without ``../shared``: the test is skipped,
    except under CI, where the folder must be there and its absence fails the run."""
    folder = shared_data_dir()
    if folder is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have ../shared/data beside the checkout")
        pytest.skip("../shared/data is not beside this checkout")
    return folder


@pytest.fixture()
def write(tmp_path: Path):
    """Write text to a file in a temporary folder and return its path."""

    def _write(name: str, text: str, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding=encoding)
        return path

    return _write


@pytest.fixture()
def closed_pipe():
    """Run a command whose standard output (or ``closed="stderr"``) is a pipe already closed at
    the reading end, as in ``carbon ... | head -1`` once head has its line: the first write
    fails. The other stream is captured."""

    def _run(
        command: list[str], closed: str = "stdout", env: dict | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess:
        read, write = os.pipe()
        os.close(read)
        streams = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, closed: write}
        try:
            return subprocess.run(command, **streams, text=True, env=env, timeout=timeout)
        finally:
            os.close(write)

    return _run


KERNEL_PACKAGES = ("engine", "strategies", "backtest")


def pytest_sessionstart(session) -> None:
    """Drop numba's cached kernels when any module of a package with kernels (subpackages
    included) is newer than them: numba checks only a kernel's own file, not the modules it
    inlines (``engine/random_nb.py``, the fill and rule kernels the Monte Carlo backtest
    compiles in), so after an edit there the tests would otherwise run the old code."""
    sources = [p for package in KERNEL_PACKAGES for p in (REPO / package).rglob("*.py")]
    if not sources:
        return
    newest_source = max(path.stat().st_mtime for path in sources)
    cached = [
        path
        for package in KERNEL_PACKAGES
        for pattern in ("__pycache__/*.nbi", "__pycache__/*.nbc")
        for path in (REPO / package).rglob(pattern)
    ]
    if cached and min(path.stat().st_mtime for path in cached) < newest_source:
        for path in cached:
            path.unlink(missing_ok=True)
