"""Ratios between benchmarks of one group: each ``*reference*`` benchmark against the others.

pytest-benchmark prints absolute times; a speed claim here is a ratio against a reference
implementation measured in the same run, printed at the end as
``group: reference / ours = ratio`` (medians).
"""

from __future__ import annotations

from collections import defaultdict


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    session = getattr(config, "_benchmarksession", None)
    if session is None or session.disabled or not session.benchmarks:
        return
    groups: dict[str, list] = defaultdict(list)
    for bench in session.benchmarks:
        if bench.stats is not None:
            groups[bench.group or ""].append(bench)
    lines = []
    for group, benches in sorted(groups.items()):
        references = [b for b in benches if "reference" in b.name]
        for ref in references:
            for other in benches:
                if other is ref or "reference" in other.name:
                    continue
                ratio = ref.stats.median / other.stats.median
                lines.append(f"{group}: {ref.name} / {other.name} = {ratio:,.1f}x (medians)")
    if lines:
        terminalreporter.write_sep("-", "benchmark ratios")
        for line in lines:
            terminalreporter.write_line(line)
