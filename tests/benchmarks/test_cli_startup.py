"""``carbon --help`` and every ``carbon X [Y] --help`` answer in under 0.3 s on this machine.

Each is timed as a fresh process (the console script, as a user runs it), beside
``python -c pass`` in the same run: the ratio to a bare interpreter is printed at the end (see
conftest.py). The goal asserted is absolute, on the fastest round: this machine's noise only
ever adds time, so the fastest round is what the command itself costs.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from desk.cli import cli

GOAL_S = 0.3
GROUP = "cli startup"
CARBON = shutil.which("carbon", path=str(Path(sys.executable).parent)) or shutil.which("carbon")


def _paths(command: click.Command, path: tuple[str, ...] = ()):
    yield path
    if isinstance(command, click.Group):
        ctx = click.Context(command, info_name=path[-1] if path else "carbon")
        for name in command.list_commands(ctx):
            yield from _paths(command.get_command(ctx, name), (*path, name))


PATHS = list(_paths(cli))


def _run(argv: list[str]) -> None:
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_python_reference(benchmark):
    benchmark.group = GROUP
    benchmark.pedantic(_run, args=([sys.executable, "-c", "pass"],), rounds=5, warmup_rounds=1)


@pytest.mark.skipif(CARBON is None, reason="the carbon console script is not installed")
@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(("carbon", *p, "--help")))
def test_help_answers_at_once(benchmark, path):
    benchmark.group = GROUP
    benchmark.pedantic(_run, args=([CARBON, *path, "--help"],), rounds=5, warmup_rounds=1)
    fastest, median = benchmark.stats.stats.min, benchmark.stats.stats.median
    assert fastest < GOAL_S, (
        f"carbon {' '.join(path)} --help took {fastest:.3f} s at best "
        f"(median {median:.3f} s); the goal is {GOAL_S} s"
    )
