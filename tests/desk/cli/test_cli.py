"""The ``carbon`` command: output, exit codes and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from desk import exit_codes
from desk.cli import cli


@pytest.fixture()
def run():
    runner = CliRunner()

    def _run(*args: str):
        return runner.invoke(cli, list(args), catch_exceptions=False)

    return _run


def test_data_show_reference(run):
    result = run("data", "show")
    assert result.exit_code == 0, result.output
    for text in ("CEA prices from reference", "2021-07-16 to 2026-06-30", "1,199", "89.22 CNY/t"):
        assert text in result.output
    assert "listed -> composite on 2023-08-28" in result.output


def test_data_show_json(run):
    result = run("data", "show", "--source", "reference", "--json")
    summary = json.loads(result.output)
    assert summary["rows"] == 1199 and summary["last_close"] == 89.22
    assert summary["sessions_missing"] == 0 and summary["warnings"] == []


@pytest.mark.shared_data
def test_data_show_real_file_lists_warnings(run, shared_data):
    result = run("data", "show", "--source", str(shared_data / "cea_seee_bulletins.csv"))
    assert result.exit_code == 0
    assert "369 of 1,232 trading days missing" in result.output
    assert "93 missing between 2024-12-31 and 2025-05-27" in result.output
    assert "... and 1 more warning\n" in result.output
    # one warning a line, unwrapped, for grep
    assert "row 366, column 'close', value 81.43: close outside the day's high-low range" in (
        result.output
    )


def test_data_validate_good_and_bad(run, write):
    good = write("good.csv", "date,close\n2025-03-03,80\n2025-03-04,81\n")
    result = run("data", "validate", str(good))
    assert result.exit_code == 0
    assert result.output.strip() == (
        f"{good}: 2 rows with prices, 0 errors, 0 warnings "
        "(checked as CEA; --market for another market)"
    )

    bad = write("bad.csv", "date,close\n2025-03-03,80\n2025-03-04,-81\n2025-03-04,82\n")
    result = run("data", "validate", str(bad))
    assert result.exit_code == exit_codes.DATA
    lines = result.output.splitlines()
    assert f"error: {bad}, row 3, column 'close', value -81.0: price must be positive" in lines
    assert any("row 4" in line and "duplicate date" in line for line in lines)
    assert lines[-1].startswith(f"{bad}: 3 rows with prices, 2 errors, 0 warnings")


def test_data_validate_json(run, write):
    bad = write("bad.csv", "date,close\n2025-03-03,80\n2025-03-04,nan\n")
    result = run("data", "validate", str(bad), "--json")
    assert result.exit_code == exit_codes.DATA
    record = json.loads(result.output.splitlines()[0])
    assert record == {
        "severity": "error",
        "check": "number",
        "source": str(bad),
        "row": 3,
        "column": "close",
        "value": "nan",
        "message": "not a finite number",
    }


def test_errors_are_one_line_with_an_exit_code(tmp_path):
    runner = CliRunner()
    missing = tmp_path / "missing.csv"
    result = runner.invoke(cli, ["data", "show", "--source", str(missing)])
    assert result.exit_code == exit_codes.DATA
    assert result.output == f"error: {missing}: no such file\n"
    result = runner.invoke(cli, ["data", "show", "--market", "eua"])
    assert result.exit_code == exit_codes.CONFIG
    assert result.output.startswith("error: the reference market is CEA-like")
    result = runner.invoke(cli, ["data", "show", "--market", "nowhere"])
    assert result.exit_code == exit_codes.USAGE


def test_bad_inputs_exit_3_with_one_line(tmp_path):
    runner = CliRunner()
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    header = tmp_path / "header.csv"
    header.write_text("date,close\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("date,close\n2025-03-03,-1\n2025-03-04,x\n")
    cases = [
        (["data", "validate", str(empty)], f"error: {empty}: the file is empty\n"),
        (["data", "show", "--source", str(header)], f"error: {header}: no rows with prices\n"),
        (
            ["data", "validate", str(tmp_path)],
            f"error: {tmp_path}: is a folder, not a price file\n",
        ),
        (
            ["data", "show", "--source", str(bad)],
            f"error: 2 problems in market data; the first: {bad}, row 2, column 'close', "
            f"value -1.0: price must be positive (carbon data validate {bad} lists them all)\n",
        ),
    ]
    for args, expected in cases:
        result = runner.invoke(cli, args)
        assert (result.exit_code, result.output) == (exit_codes.DATA, expected), args


def test_options_that_do_not_apply_exit_4(run):
    result = CliRunner().invoke(cli, ["data", "show", "--format", "wind"])
    assert result.exit_code == exit_codes.CONFIG
    assert result.output == "error: the reference market takes no format or source options\n"


def test_debug_lets_the_exception_through(tmp_path):
    result = CliRunner().invoke(
        cli, ["--debug", "data", "show", "--source", str(tmp_path / "x.csv")]
    )
    assert result.exit_code != 0
    assert result.exception is not None and "no such file" in str(result.exception)


@pytest.mark.parametrize("args", [[], ["data"], ["data", "show"], ["data", "validate"]])
def test_help(run, args):
    result = run(*args, "--help")
    assert result.exit_code == 0
    assert "Usage: carbon" in result.output


def test_installed_command_runs_in_a_real_process(tmp_path):
    """The console script as a user runs it: exit code and stderr from a separate process."""
    bad = tmp_path / "bad.csv"
    bad.write_text("date,close\n2025-03-03,80\n2025-03-05,81\n2025-03-04,82\n")
    done = subprocess.run(
        [sys.executable, "-m", "desk", "data", "validate", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == exit_codes.DATA
    assert "dates out of order: 2025-03-04 comes after 2025-03-05 (row 3)" in done.stdout
    done = subprocess.run(
        [sys.executable, "-m", "desk", "data", "show", "--source", str(tmp_path / "none.csv")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == exit_codes.DATA
    assert done.stderr.strip() == f"error: {tmp_path / 'none.csv'}: no such file"
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("table", [True, False], ids=["rich table", "json line"])
def test_a_reader_that_goes_away_is_not_an_error(closed_pipe, table):
    """``carbon data show | head -1``: the closed pipe ends the command with the shell's code
    for it, with nothing on stderr (no "unexpected error", no traceback)."""
    done = closed_pipe(
        [sys.executable, "-m", "desk", "data", "show", *([] if table else ["--json"])]
    )
    assert done.returncode == exit_codes.PIPE_CLOSED
    assert done.stderr == ""


def test_a_closed_stderr_keeps_the_errors_exit_code(closed_pipe, tmp_path):
    """``carbon data show --source missing.csv 2>&1 | head -0``: the error cannot be told, and
    the exit code still says what it was (3, bad market data), not a closed pipe."""
    missing = str(tmp_path / "missing.csv")
    done = closed_pipe([sys.executable, "-m", "desk", "data", "show", "--source", missing],
                       closed="stderr")  # fmt: skip
    assert done.returncode == exit_codes.DATA
