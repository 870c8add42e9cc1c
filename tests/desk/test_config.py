"""The nightly configuration: the packaged example loads, and every mistake names its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from desk.config import default_config_path, load_config, write_example
from engine.errors import ConfigurationError

BOOK = default_config_path().parent / "power_company_book.toml"


def config_text(**sections: str) -> str:
    parts = {
        "run": "paths = 1000\nscenarios = 20",
        "markets.cea": 'source = "reference"',
        "entities": f'name = "a"\nbook = "{BOOK}"',
    }
    parts.update(sections)
    out = []
    for name, body in parts.items():
        header = f"[[{name}]]" if name == "entities" else f"[{name}]"
        out.append(f"{header}\n{body}\n")
    return "\n".join(out)


def test_the_packaged_example_loads_with_its_book_and_targets():
    config = load_config()
    assert config.run.paths == 100_000 and config.run.scenarios == 1_000
    assert list(config.markets) == ["cea"] and config.markets["cea"].source == "reference"
    (entity,) = config.entities
    assert entity.name == "power-co" and entity.book.obligation.expected_emissions == 3_280_000
    assert config.targets.carbon_asset_return == 0.08 and config.optimiser.frontier[-1] == 4.0
    assert config.optimiser.tree_leaves == 64


def test_the_packaged_example_writes_under_the_working_directory(tmp_path: Path, monkeypatch):
    """Not into the installed package: its book is read beside it, its runs go to ./runs."""
    monkeypatch.chdir(tmp_path)
    config = load_config()
    assert config.run.out == tmp_path / "runs"
    assert config.entities[0].book_path == default_config_path().parent / "power_company_book.toml"


def test_relative_paths_are_read_from_the_configuration_folder(tmp_path: Path):
    write_example(tmp_path)
    config = load_config(tmp_path / "desk.toml")
    assert config.entities[0].book_path == tmp_path / "power_company_book.toml"
    assert config.run.out == tmp_path / "runs"


def test_init_refuses_to_overwrite_without_force(tmp_path: Path):
    write_example(tmp_path)
    with pytest.raises(ConfigurationError, match="already exist"):
        write_example(tmp_path)
    assert len(write_example(tmp_path, force=True)) == 2


@pytest.mark.parametrize(
    ("sections", "message"),
    [
        ({"run": "paths = 1000\nsed = 1"}, r"run\.sed = 1 is not a known key"),
        ({"run": 'paths = "many"'}, r"run\.paths = 'many' must be a int"),
        ({"run": "paths = 5"}, r"run\.paths = 5 must lie in \[10,"),
        ({"optimiser": "lambda = -1"}, r"optimiser\.lambda = -1\.0 must lie in"),
        ({"optimiser": "frontier = [0, -2]"}, r"optimiser\.frontier\[1\] = -2 must be"),
        ({"optimiser": "tree_leaves = 0"}, r"optimiser\.tree_leaves = 0 must lie in \[1, 4096\]"),
        ({"markets.cea": 'source = "reference"\nallow_integrated = "yes"'},
         r"markets\.cea\.allow_integrated = 'yes' must be a bool"),
        ({"entities": 'name = "a"\nbook = "missing.toml"'}, r"entities\[0\]\.book: .*missing"),
        ({"entities": f'name = ""\nbook = "{BOOK}"'}, r"entities\[0\]\.name = '' must be"),
        ({"targets": "intensity_reduction = 0.15"}, r"go together"),
        ({"targets": "coverage_min = -1"}, r"targets\.coverage_min = -1\.0 must lie"),
    ],
)  # fmt: skip
def test_mistakes_name_the_key_and_the_value(tmp_path: Path, sections, message):
    path = tmp_path / "desk.toml"
    path.write_text(config_text(**sections))
    with pytest.raises(ConfigurationError, match=message):
        load_config(path)


def test_an_entity_on_a_market_without_a_source_is_refused(tmp_path: Path):
    path = tmp_path / "desk.toml"
    path.write_text(config_text(**{"markets.cea": 'source = "reference"'}).replace(
        "[markets.cea]", "[markets.eua]"))  # fmt: skip
    with pytest.raises(ConfigurationError, match=r"trades market 'cea', which has no \[markets"):
        load_config(path)


def test_a_missing_or_malformed_file_is_named(tmp_path: Path):
    with pytest.raises(ConfigurationError, match="no such configuration file"):
        load_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[run\npaths = 1")
    with pytest.raises(ConfigurationError, match=r"bad\.toml: not valid TOML"):
        load_config(bad)
