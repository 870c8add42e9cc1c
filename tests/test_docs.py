"""The front door: the README, the docs site's pages and the examples they show."""

from __future__ import annotations

import importlib.util
import os
import re
import types
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MAX_README_LINES = 150


def _bash_commands(text: str) -> list[str]:
    """The commands of the first ```bash block: its lines that are not comments."""
    block = re.search(r"```bash\n(.*?)```", text, re.S)
    assert block, "no ```bash block"
    return [line for line in block.group(1).splitlines() if line and not line.startswith("#")]


def _ci_command() -> str:
    lines = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    return lines[-1]


def test_readme_is_a_front_page():
    lines = README.read_text().splitlines()
    assert len(lines) <= MAX_README_LINES, f"README.md has {len(lines)} lines"


def test_readme_commands_are_the_install_and_what_ci_runs():
    commands = _bash_commands(README.read_text())
    assert len(commands) == 2, commands
    install, test = commands
    assert install == (
        "python3 -m venv .venv && . .venv/bin/activate && pip install . && carbon nightly"
    )
    assert test == _ci_command()
    assert test.endswith("&& pytest && mkdocs build --strict")


def test_getting_started_shows_the_same_two_commands():
    page = (ROOT / "docs" / "getting-started.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", page, re.S)
    shown = [line for b in blocks[:2] for line in b.splitlines() if line and line[0] != "#"]
    assert shown == _bash_commands(README.read_text())


def _nav_pages(items) -> list[str]:
    pages = []
    for item in items:
        if isinstance(item, str):
            pages.append(item)
        elif isinstance(item, dict):
            for value in item.values():
                pages += _nav_pages(value) if isinstance(value, list) else [value]
    return pages


def test_every_page_of_the_nav_exists():
    yaml = pytest.importorskip("yaml")  # mkdocs's own dependency: the docs extra, as in CI
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    pages = _nav_pages(config["nav"])
    assert len(pages) > 40
    docs = ROOT / config.get("docs_dir", "docs")
    missing = [page for page in pages if not (docs / page).is_file()]
    assert missing == []


def test_readme_links_point_at_files():
    links = re.findall(r"\]\(([^)#:]+)\)", README.read_text())
    assert links
    missing = [link for link in links if not (ROOT / link).exists()]
    assert missing == []


@pytest.mark.shared_data
def test_python_guide_blocks_run(shared_data, monkeypatch):
    """The Python examples of docs/guide/python.md run, in order, as a new user would paste
    them (from the checkout: they name ../shared/data and desk/defaults/)."""
    monkeypatch.chdir(ROOT)
    assert os.path.isdir("../shared/data")
    page = (ROOT / "docs" / "guide" / "python.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", page, re.S)
    assert len(blocks) >= 4
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the examples load the bulletins, which warn
        for number, block in enumerate(blocks):
            exec(compile(block, f"docs/guide/python.md block {number}", "exec"), namespace)
    assert namespace["plan"].status == "optimal"
    assert namespace["book"].coverage() == pytest.approx(3_520_000 / 3_280_000)


def _root_conftest():
    spec = importlib.util.spec_from_file_location("root_conftest", ROOT / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("ci", "overwrite"), [("true", True), (None, False)])
def test_notebooks_keep_their_outputs_only_under_ci(monkeypatch, ci, overwrite):
    """CI runs each notebook once: nbmake writes the outputs back for the site to render."""
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    config = types.SimpleNamespace(option=types.SimpleNamespace(overwrite=False))
    _root_conftest().pytest_configure(config)
    assert config.option.overwrite is overwrite
