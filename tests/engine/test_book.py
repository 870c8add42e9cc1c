"""The compliance book, the obligation's scenarios and the compliance rules."""

from __future__ import annotations

import dataclasses
import datetime as dt
import tomllib
from pathlib import Path

import numpy as np
import pytest

from desk.config.book import load_book
from engine.book import ComplianceBook, Obligation, Pledge
from engine.compliance import CEA_COMPLIANCE, EUA_COMPLIANCE
from engine.errors import ConfigurationError
from engine.markets import CEA, EUA

EXAMPLE = Path(__file__).resolve().parents[2] / "desk/defaults/power_company_book.toml"


@pytest.fixture(scope="module")
def book() -> ComplianceBook:
    return load_book(EXAMPLE)


def test_rules_of_the_two_markets():
    assert CEA.compliance is CEA_COMPLIANCE and EUA.compliance is EUA_COMPLIANCE
    assert CEA_COMPLIANCE.deadline(2025) == dt.date(2026, 12, 31)
    assert EUA_COMPLIANCE.deadline(2025) == dt.date(2026, 9, 30)
    # CEA: 10 x the month's average price; EU ETS: EUR 100 a tonne, whatever the price.
    assert CEA_COMPLIANCE.penalty_per_tonne(60.0) == 600.0
    assert EUA_COMPLIANCE.penalty_per_tonne(60.0) == 100.0
    assert CEA_COMPLIANCE.banking_cap_t(200_000) == 10_000 + 1.5 * 200_000
    assert CEA_COMPLIANCE.banking_cap_t(-50_000) == 10_000  # net purchases: the base only
    assert EUA_COMPLIANCE.banking_cap_t(0) == float("inf")
    assert CEA_COMPLIANCE.offset_cap_t(3_280_000) == pytest.approx(164_000)
    assert EUA_COMPLIANCE.offset_cap_t(3_280_000) == 0.0
    with pytest.raises(ConfigurationError, match="2/30 is not a date"):
        dataclasses.replace(CEA_COMPLIANCE, surrender_month=2, surrender_day=30)
    with pytest.raises(ConfigurationError, match=r"offset_cap_share = 1\.5 is impossible"):
        dataclasses.replace(CEA_COMPLIANCE, offset_cap_share=1.5)


def test_the_example_book(book):
    assert book.entity.startswith("Example Power") and book.deadline == dt.date(2026, 12, 31)
    assert book.allowances_t == 2_279_400 and book.pledged_t == 500_000
    assert book.sellable_t == 1_779_400 and book.forwards_t == 200_000
    ob = book.obligation
    assert ob.expected_emissions == pytest.approx(3_280_000)
    assert ob.expected_allocation == pytest.approx(3_120_000)
    assert ob.preallocated == pytest.approx(2_129_400)
    # Covered: 2,279,400 held + 200,000 forward + 50,000 CCER (cap 164,000) + true-up 990,600.
    assert book.coverage() == pytest.approx(3_520_000 / 3_280_000)
    assert book.expected_shortfall_t() == 0.0
    assert book.reserve_floor_t == pytest.approx(328_000)


def test_pledge_loan_to_value(book):
    pledge = book.pledges[0]
    assert pledge.ltv(50.0) == pytest.approx(0.8)
    assert pledge.price_at(pledge.trigger_ltv) == pytest.approx(20e6 / (500_000 * 0.6))
    assert pledge.price_at(pledge.call_ltv) == pytest.approx(57.142857, rel=1e-6)
    with pytest.raises(ConfigurationError, match=r"pledge\.trigger_ltv = 0\.8: must be positive"):
        Pledge(tonnes=1, loan=1, trigger_ltv=0.8, call_ltv=0.7)


def test_obligation_scenarios_move_together():
    ob = Obligation(
        expected_output=4e6, base_output=3.9e6, output_sd_share=0.05, intensity=0.82,
        intensity_sd_share=0.01, benchmark=0.78,
    )  # fmt: skip
    sc = ob.scenarios(200_000, seed=3)
    np.testing.assert_array_equal(sc.emissions, ob.scenarios(200_000, seed=3).emissions)
    assert sc.emissions.mean() == pytest.approx(ob.expected_emissions, rel=2e-3)
    assert sc.allocation.mean() == pytest.approx(ob.expected_allocation, rel=2e-3)
    # sd of emissions: sqrt(0.05^2 + 0.01^2 + (0.05 x 0.01)^2) of the mean
    assert sc.emissions.std() / sc.emissions.mean() == pytest.approx(0.05100, rel=0.02)
    assert np.corrcoef(sc.emissions, sc.allocation)[0, 1] > 0.97
    np.testing.assert_allclose(sc.true_up, sc.allocation - ob.preallocated)


def test_book_errors_name_the_key():
    data = tomllib.loads(EXAMPLE.read_text())
    cases = [
        ({"allowances_by_vintage": {2026: 10}}, r"allowances_by_vintage\[2026\] = 2026: is after"),
        ({"ccer_t": -1}, r"book.ccer_t = -1.0: must not be negative"),
        ({"reserve_floor_share": 2}, r"reserve_floor_share = 2.0: must lie in \[0, 1\]"),
        ({"colour": "red"}, r"book = \['colour'\]: unknown keys"),
        ({"market": "nzu"}, r"book.market = 'nzu': has no compliance"),
        ({"forwards": [{"tonnes": 1, "price": 70, "delivery": "2027-03-01"}]}, "after the surr"),
        ({"forwards": [{"tonnes": 1, "price": 70, "delivery": "soon"}]}, "not a date"),
        ({"pledges": [{"tonnes": 9e9, "loan": 1, "trigger_ltv": 0.5, "call_ltv": 0.6}]}, "pledge"),
        ({"cycle_year": "last"}, "not a number"),
    ]
    for change, message in cases:
        with pytest.raises(ConfigurationError, match=message):
            ComplianceBook.from_dict({**data, **change})
    missing = {k: v for k, v in data.items() if k != "trading_budget"}
    with pytest.raises(ConfigurationError, match="missing key 'trading_budget'"):
        ComplianceBook.from_dict(missing)


def test_book_file_errors(tmp_path):
    with pytest.raises(ConfigurationError, match="no such book file"):
        load_book(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("entity = \n")
    with pytest.raises(ConfigurationError, match=r"bad\.toml: not valid TOML"):
        load_book(bad)
    wrong = tmp_path / "wrong.toml"
    wrong.write_text(EXAMPLE.read_text().replace("ccer_t = 50_000", "ccer_t = -5"))
    with pytest.raises(ConfigurationError, match=r"wrong.toml: book.ccer_t = -5.0"):
        load_book(wrong)
