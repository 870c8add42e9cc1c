"""The command tree answers ``--help`` without the numerical libraries, lists its commands
with their own short help, documents every option and argument, and offers the words of the
packages that own them."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest

from desk.cli import COMMANDS, cli

HEAVY = ("pandas", "numpy", "matplotlib", "cvxpy", "numba", "arch", "scipy")


def walk(command: click.Command, path: tuple[str, ...] = ()):
    """Every command under ``command`` with its path, as documentation tools walk it."""
    yield path, command
    if isinstance(command, click.Group):
        ctx = click.Context(command, info_name=path[-1] if path else "carbon")
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None, f"{' '.join((*path, name))} is listed but not found"
            yield from walk(sub, (*path, name))


PATHS = [path for path, _ in walk(cli)]


def test_the_tree_is_walked_to_its_leaves():
    assert ("alerts", "check") in PATHS and ("model", "validate") in PATHS
    assert ("audit", "verify") in PATHS and ("backtest",) in PATHS
    assert len(PATHS) >= 20
    assert cli.commands == {}  # documentation tools that read it fall back to the walk


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_table_shows_each_command_s_own_short_help(name):
    ctx = click.Context(cli, info_name="carbon")
    command = cli.get_command(ctx, name)
    assert COMMANDS[name][1] == command.get_short_help_str(limit=80)


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "carbon")
def test_every_option_and_argument_has_help(path):
    command = dict(walk(cli))[path]
    assert (command.help or "").strip(), f"carbon {' '.join(path)} has no help"
    text = command.help or ""
    for param in command.params:
        if isinstance(param, click.Option):
            if param.hidden:
                continue
            assert (param.help or "").strip(), f"carbon {' '.join(path)} {param.opts[0]}: no help"
        else:  # click arguments have no help of their own: the command's text names them
            name = param.human_readable_name
            assert name in text, f"carbon {' '.join(path)}: the help does not explain {name}"


_SNIFF = """
import json, sys
import desk.cli
try:
    desk.cli.cli.main(sys.argv[1:] + ["--help"], prog_name="carbon", standalone_mode=False)
except SystemExit:
    pass
print(json.dumps(sorted(m for m in {heavy} if m in sys.modules)), file=sys.stderr)
"""


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "carbon")
def test_help_imports_no_numerical_library(path):
    """``import desk.cli`` and ``carbon ... --help``, in a fresh interpreter: none of pandas,
    numpy, matplotlib, cvxpy, numba, arch or scipy is loaded."""
    code = _SNIFF.format(heavy=HEAVY)
    done = subprocess.run([sys.executable, "-c", code, *path], capture_output=True, text=True,
                          timeout=120, check=True)  # fmt: skip
    assert "Usage: carbon" in done.stdout
    assert json.loads(done.stderr.strip().splitlines()[-1]) == []


def test_the_options_offer_the_owners_words():
    import engine.volatility
    import market_data
    from desk.cli import common
    from desk.config.desk import RunSettings
    from desk.store.alerts import STATES
    from engine.alerts import SEVERITIES
    from engine.optimiser_settings import OptimiserSettings
    from engine.validation import CANDIDATES, HORIZONS

    assert common.FORMATS == market_data.FORMATS and common.REFERENCE == market_data.REFERENCE
    assert common.SEVERITIES == SEVERITIES and common.STATES == STATES
    assert tuple(c.name for c in CANDIDATES) == common.CANDIDATES
    assert common.HORIZONS == HORIZONS
    assert common.ADVISED_OBSERVATIONS == engine.volatility.ADVISED_OBSERVATIONS
    run, optimiser = RunSettings(), OptimiserSettings()
    assert {k: getattr(run, k) for k in common.RUN_DEFAULTS} == common.RUN_DEFAULTS
    assert {
        k: getattr(optimiser, k) for k in common.OPTIMISER_DEFAULTS
    } == common.OPTIMISER_DEFAULTS
