"""The nightly configuration: the packaged example loads, and every mistake names its key."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from desk.config.desk import default_config_path, load_config, write_example
from engine.errors import ConfigurationError
from engine.forwards import ForwardQuote
from engine.optimiser_settings import OptimiserSettings

BOOK = default_config_path().parent / "power_company_book.toml"
QUOTE = """source = "reference"
[[markets.cea.forwards]]
name = "bank"
carry_rate = 0.025
premium = 0.5
delivery = 2026-11-30
max_t = 100_000"""


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
    assert config.optimiser.settings.tree_leaves == 64


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
        ({"run": "paths = 1000\nsed = 1"},
         r"run\.sed = 1 is not a known key \(known here: seed, paths, scenarios"),
        ({"run": 'paths = "many"'}, r"run\.paths = 'many' must be a whole number"),
        ({"run": "paths = 5"}, r"run\.paths = 5 must be >= 10"),
        ({"run": "paths = 10.5"}, r"run\.paths = 10\.5 must be a whole number"),
        ({"run": "seed = true"}, r"run\.seed = True must be a whole number"),
        ({"run": 'store = ""'}, r"run\.store = '' must not be blank"),
        ({"run": 'store = "  "'}, r"run\.store = '  ' must not be blank"),
        ({"run": 'out = "/dev/null"'}, r"run\.out = '/dev/null' names no folder"),
        ({"run": 'out = "/etc/hostname/runs"'}, r"run\.out = .*/etc/hostname is not a folder"),
        ({"run": 'store = "/tmp"'}, r"run\.store = '/tmp' names a folder"),
        ({"optimiser": "lambda = -1"}, r"optimiser\.lambda = -1\.0 must be >= 0"),
        ({"optimiser": "lambda = inf"}, r"optimiser\.lambda = inf must be finite"),
        ({"optimiser": "liquidity_t = nan"}, r"optimiser\.liquidity_t = nan must be finite"),
        ({"optimiser": "frontier = [0, -2]"}, r"optimiser\.frontier\[1\] = -2\.0 must be >= 0"),
        ({"optimiser": "frontier = 3"}, r"optimiser\.frontier = 3 must be a list"),
        ({"optimiser": "tree_leaves = 0"}, r"optimiser\.tree_leaves = 0 must be >= 1"),
        ({"markets.cea": 'source = "reference"\nallow_integrated = "yes"'},
         r"markets\.cea\.allow_integrated = 'yes' must be true or false"),
        ({"markets.cea": 'source = ""'}, r"markets\.cea\.source = '' must not be blank"),
        ({"entities": 'name = "a"\nbook = "missing.toml"'}, r"entities\[0\]\.book: .*missing"),
        ({"entities": f'name = ""\nbook = "{BOOK}"'}, r"entities\[0\]\.name = '' must not be"),
        ({"entities": 'name = "a"'}, r"entities\[0\]\.book is required"),
        ({"targets": "intensity_reduction = 0.15"}, r"go together"),
        ({"targets": "coverage_min = -1"}, r"targets\.coverage_min = -1\.0 must be >= 0"),
        ({"targets": "intensity_target_year = 2100"},
         r"targets\.intensity_target_year = 2100 must be <= 2060"),
        ({"audit": 'key_file = ""'}, r"audit\.key_file = '' must not be blank"),
        ({"optimiser": "alpha = 1"}, r"optimiser\.alpha = 1\.0 must be < 1"),
        ({"optimiser": 'mode = "max"'}, r"optimiser\.mode = 'max' input should be 'mean_cvar'"),
        ({"optimiser": 'mode = "min_cvar"'},
         r"optimiser: optimiser setting cost_budget = None is impossible"),
        ({"optimiser": 'solvers = ["CLARABEL", "NOPE"]'},
         r"optimiser: optimiser setting solvers = \('CLARABEL', 'NOPE'\) is impossible"),
        ({"optimiser": "tree_need_splits = -1"}, r"optimiser\.tree_need_splits = -1 must be >= 0"),
        ({"entities": f'name = "a"\nbook = "{BOOK}"\n[entities.optimiser]\nlambda = -1'},
         r"entities\[0\]\.optimiser\.lambda = -1\.0 must be >= 0"),
        ({"entities": f'name = "a"\nbook = "{BOOK}"\n[entities.optimiser]\nmode = "min_cvar"'},
         r"entities\[0\]\.optimiser: optimiser setting cost_budget = None is impossible"),
        ({"markets.cea": QUOTE.replace("max_t = 100_000", "max_t = -5")},
         r"markets\.cea\.forwards\[0\]\.max_t = -5\.0 must be >= 0"),
        ({"markets.cea": QUOTE.replace("premium = 0.5", "price = 90.0")},
         r"markets\.cea\.forwards\[0\] = .* 'bank': price = 90\.0 give either a fixed price or"),
        ({"markets.cea": QUOTE.replace("carry_rate = 0.025", "price = 90.0")},
         r"'bank': premium = 0\.5 applies to a cost-of-carry quote: fold it into the price"),
        ({"markets.cea": QUOTE.replace("carry_rate = 0.025", "carry_rate = 25")},
         r"markets\.cea\.forwards\[0\]\.carry_rate = 25\.0 must be <= 1"),
        ({"markets.cea": QUOTE.replace("2026-11-30", '"soon"')},
         r"markets\.cea\.forwards\[0\]\.delivery = 'soon' must be a date \(YYYY-MM-DD\)"),
        ({"markets.cea": QUOTE.replace("2026-11-30", "2027-03-31")},
         r"markets\.cea\.forwards\[0\]: forward quote 'bank': delivery = 2027-03-31 is after "
         r"the surrender deadline 2026-12-31: too late \(entities\[0\], a\)"),
        ({"markets.cea": QUOTE,
          "entities": f'name = "a"\nbook = "{BOOK}"\n' + QUOTE.split("\n", 1)[1].replace(
              "markets.cea.forwards", "entities.forwards")},
         r"entities\[0\]\.forwards\[0\]\.name = 'bank' is used twice for entities\[0\] \(a\)"),
    ],
)  # fmt: skip
def test_mistakes_name_the_key_and_the_value(tmp_path: Path, sections, message):
    path = tmp_path / "desk.toml"
    path.write_text(config_text(**sections))
    with pytest.raises(ConfigurationError, match=message) as error:
        load_config(path)
    assert str(error.value).startswith(f"{path}: ")  # and the file


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("cycle_year = 2025", "cycle_year = inf"), r"cycle_year = inf must be a whole number"),
        (("cycle_year = 2025", "cycle_year = 1e18"), r"cycle_year = 1e\+18 must be a whole"),
        (("cycle_year = 2025", "cycle_year = 1000000000000000000"), r"cycle_year = .*<= 2059"),
        (("cycle_year = 2025", "cycle_year = 2100"), r"cycle_year = 2100 must be <= 2059"),
        (("cycle_year = 2025", "cycle_year = 1990"), r"cycle_year = 1990 must be >= 2005"),
        (("expected_output = 4_000_000", "expected_output = inf"),
         r"obligation\.expected_output = inf must be finite"),
        (("expected_output = 4_000_000", "expected_output = 0"),
         r"obligation\.expected_output = 0\.0 must be > 0"),
        (("tonnes = 200_000", "tonnes = inf"), r"forwards\[0\]\.tonnes = inf must be finite"),
        (("cash = 30_000_000", "cash = 1e300"), r"cash = 1e\+300 must be <= 1e\+15"),
        (("ccer_t = 50_000", "ccer_t = inf"), r"ccer_t = inf must be finite"),
        (('delivery = "2026-06-30"', 'delivery = "1990-06-30"'),
         r"forwards\[0\]\.delivery = '1990-06-30' is before the cycle 2025"),
        (('delivery = "2026-06-30"', 'delivery = "2126-06-30"'),
         r"forwards\[0\]\.delivery = '2126-06-30' must lie within the calendars"),
        (('delivery = "2026-06-30"', 'delivery = "June"'),
         r"forwards\[0\]\.delivery = 'June' must be a date"),
        (("2024 = 150_000", "later = 150_000"), r"allowances_by_vintage\.later = 'later'"),
        (("ccer_t = 50_000", "ccer_t = [50_000]"), r"ccer_t = \[50000\] must be a number"),
    ],
)  # fmt: skip
def test_book_mistakes_name_the_file_the_key_and_the_value(tmp_path: Path, change, message):
    book = tmp_path / "book.toml"
    text = BOOK.read_text()
    assert change[0] in text
    book.write_text(text.replace(change[0], change[1], 1))
    path = tmp_path / "desk.toml"
    path.write_text(config_text(entities=f'name = "a"\nbook = "{book}"'))
    with pytest.raises(ConfigurationError, match=message) as error:
        load_config(path)
    assert str(error.value).startswith(f"{path}: entities[0].book: {book}: ")


def test_the_recorded_text_has_no_credential(tmp_path: Path):
    path = tmp_path / "desk.toml"
    path.write_text(config_text() + '\n# headers = { Authorization = "Bearer s3cret" }\n')
    config = load_config(path)
    assert "s3cret" not in config.text and 'Authorization = "<redacted>"' in config.text


def test_the_recorded_text_has_no_url_query(tmp_path: Path):
    """Tokens travel in URL queries too: the recorded text keeps the URL without its query."""
    path = tmp_path / "desk.toml"
    path.write_text(config_text() + '\n# url = "https://hooks.example.com/c?token=s3cret&x=1"\n')
    config = load_config(path)
    assert "s3cret" not in config.text
    assert '# url = "https://hooks.example.com/c?<redacted>"' in config.text


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


@pytest.mark.parametrize(
    ("notifier", "allowed", "message"),
    [
        ('kind = "jsonl"\npath = "../../etc/cron.d/x"', False, r"is outside the configuration"),
        ('kind = "jsonl"\npath = "/tmp/alerts.jsonl"', False, r"allow_absolute_paths = true"),
        ('kind = "jsonl"\npath = "/tmp/alerts.jsonl"', True, None),
        ('kind = "jsonl"\npath = "logs/alerts.jsonl"', False, None),
        ('kind = "jsonl"\npath = "."', True, r"is a folder"),
        ('kind = "webhook"\nurl = "https://h.example.com/x"\n'
         'headers = { Authorization = "Bearer s3cret" }', False,
         r"headers\.Authorization = '<redacted>': holds a credential.*token_env"),
        ('kind = "webhook"\nurl = "https://h.example.com/x"\ntoken_env = "NOT A NAME"', False,
         r"token_env = 'NOT A NAME': must name an environment variable"),
        ('kind = "webhook"\nurl = "https://h.example.com/x"\ntimeout_s = inf', False,
         r"timeout_s = inf: must be finite"),
    ],
)  # fmt: skip
def test_notifier_paths_stay_in_the_configuration_folder(tmp_path: Path, notifier, allowed,
                                                         message):  # fmt: skip
    path = tmp_path / "desk.toml"
    flag = "allow_absolute_paths = true\n" if allowed else ""
    path.write_text(config_text() + f"\n[alerts]\n{flag}[[alerts.notifiers]]\n{notifier}\n")
    if message is None:
        load_config(path)
        return
    with pytest.raises(ConfigurationError, match=message) as error:
        load_config(path)
    assert "s3cret" not in str(error.value)
    assert str(error.value).startswith(f"{path}: alerts.notifiers[0]")


def test_every_optimiser_setting_defaults_to_the_engine_and_an_entity_changes_its_own(
    tmp_path: Path,
):
    path = tmp_path / "desk.toml"
    path.write_text(config_text())
    config = load_config(path)
    assert config.optimiser.settings == OptimiserSettings()  # one default: the engine's
    assert config.entities[0].optimiser == config.optimiser and config.entities[0].forwards == ()
    own = "\n".join([
        'name = "a"', f'book = "{BOOK}"',
        "[entities.optimiser]", 'mode = "min_cvar"', "cost_budget = 2e8", "alpha = 0.9",
        "[[entities.forwards]]", 'name = "broker"', "price = 88.0", "delivery = 2026-09-30",
        "max_t = 5_000",
    ])  # fmt: skip
    text = config_text(
        optimiser="lambda = 2.0\nliquidity_t = 50_000\npenalty_multiple = 7\ntree_need_splits = 0",
        **{"markets.cea": QUOTE, "entities": own},
    )
    path.write_text(text)
    config = load_config(path)
    settings = config.optimiser.settings
    assert (settings.lambda_, settings.liquidity_t, settings.penalty_multiple) == (2.0, 5e4, 7.0)
    assert settings.tree_need_splits == 0 and settings.mode == "mean_cvar"
    entity = config.entities[0]
    # the entity's keys change [optimiser]'s, the others stay
    assert entity.optimiser.settings == dataclasses.replace(
        settings, mode="min_cvar", cost_budget=2e8, alpha=0.9
    )
    assert entity.forwards == (
        ForwardQuote("bank", dt.date(2026, 11, 30), 100_000.0, carry_rate=0.025, premium=0.5),
        ForwardQuote("broker", dt.date(2026, 9, 30), 5_000.0, price=88.0),
    )


def test_the_packaged_example_offers_a_bank_quote():
    (entity,) = load_config().entities
    (quote,) = entity.forwards
    assert (quote.carry_rate, quote.premium, quote.max_t) == (0.025, 0.5, 100_000.0)
    assert quote.delivery <= entity.book.deadline
