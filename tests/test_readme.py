"""The README's Python examples run, in order, as a new user would paste them."""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.shared_data
def test_readme_python_blocks_run(shared_data, monkeypatch):
    monkeypatch.chdir(README.parent)  # the examples name ../shared/data and desk/defaults/
    assert os.path.isdir("../shared/data")
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) >= 4
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the README loads the bulletins, which warn
        for number, block in enumerate(blocks):
            exec(compile(block, f"README python block {number}", "exec"), namespace)
    assert namespace["plan"].status == "optimal"
    assert namespace["book"].coverage() == pytest.approx(3_520_000 / 3_280_000)
