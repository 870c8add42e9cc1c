"""Errors about a file that is not a price table describe it without echoing its content."""

from __future__ import annotations

import pytest

import market_data as md
from market_data.text import excerpt


def test_a_file_given_by_mistake_is_not_echoed(tmp_path):
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\nuser:x:1000:1000::/home/user:/bin/sh\n")
    with pytest.raises(md.DataError) as caught:
        md.load(secret, market="eua")
    text = str(caught.value).replace(str(secret), "FILE")  # the path itself names pytest-of-root
    assert "root" not in text and "/bin/bash" not in text
    assert "one column, a first line of 31 characters: not a table of prices" in text


def test_a_table_without_prices_names_its_columns_briefly(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text(
        ",".join(f"c{i}" for i in range(15)) + "," + "x" * 90 + "\n" + "1," * 15 + "1\n"
    )
    with pytest.raises(md.DataError, match=r"found columns 'c0', 'c1', .* 'c11' and 4 more"):
        md.load(table, market="eua")
    assert excerpt("y" * 90) == repr("y" * 39 + "…") + " (90 characters)"
