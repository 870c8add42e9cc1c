"""Under CI, the notebooks that nbmake runs keep their outputs, for the docs site.

The docs site (``mkdocs build --strict``, after ``pytest`` in ``.ci/run``) renders the notebooks
with ``execute: false``: it shows the outputs stored in them. So that CI runs each notebook
once, not once for the tests and again for the site, nbmake writes the executed notebooks back
(its ``--overwrite``) when ``CI`` is set; CI works in a fresh clone, so nothing is committed.
Outside CI the notebooks in the checkout are never rewritten.
"""

from __future__ import annotations

import os


def pytest_configure(config):
    if os.environ.get("CI") and hasattr(config.option, "overwrite"):
        config.option.overwrite = True
