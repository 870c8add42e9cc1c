"""``carbon simulate`` refuses what it cannot do, before doing any work."""

from __future__ import annotations

import json

from click.testing import CliRunner

from desk import exit_codes
from desk.cli import cli


def run(*args: str):
    return CliRunner().invoke(cli, ["simulate", *args])


def test_counts_and_seed_are_usage_errors(tmp_path):
    for args in (["--paths", "0"], ["--days", "-1"], ["--seed", "-5"], ["--min-observations", "0"]):
        result = run(*args, "--out", str(tmp_path))
        assert result.exit_code == exit_codes.USAGE, args


def test_an_output_folder_that_cannot_be_written(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = run("--paths", "10", "--out", str(blocker / "sub"))
    assert result.exit_code == exit_codes.CONFIG
    assert result.output.startswith(f"error: cannot write to the output folder {blocker / 'sub'}")


def test_pinned_model_rules(tmp_path):
    first = run("--paths", "200", "--days", "5", "--out", str(tmp_path / "a"))
    assert first.exit_code == 0, first.output
    model = tmp_path / "a" / "model.json"
    mixed = run("--model-file", str(model), "--dist", "t", "--out", str(tmp_path / "b"))
    assert mixed.exit_code == exit_codes.USAGE and "--dist cannot be used with --model-file" in (
        mixed.output
    )
    data = json.loads(model.read_text())
    data["alpha"], data["beta"] = 0.2, 0.8  # persistence 1: integrated
    integrated = tmp_path / "integrated.json"
    integrated.write_text(json.dumps(data))
    refused = run("--model-file", str(integrated), "--out", str(tmp_path / "c"))
    assert refused.exit_code == exit_codes.MODEL
    assert "is integrated" in refused.output and "--allow-integrated" in refused.output
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    bad = run("--model-file", str(broken), "--out", str(tmp_path / "d"))
    assert bad.exit_code == exit_codes.MODEL and str(broken) in bad.output
