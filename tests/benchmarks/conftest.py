"""Ratios between benchmarks of one group: each ``*reference*`` benchmark against the others.

pytest-benchmark prints absolute times; a speed claim here is a ratio against a reference
implementation measured in the same run, printed at the end as
``group: reference / ours = ratio`` (medians), with the ratio of the fastest rounds beside it:
this machine's noise only ever adds time, in bursts, so the minimums are the steadier estimate
of what each costs when both are short of rounds.
"""

from __future__ import annotations

from collections import defaultdict

import pytest


def pytest_addoption(parser):
    parser.addoption("--slow", action="store_true", help="Also run the benchmarks marked slow.")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--slow"):
        return
    skip = pytest.mark.skip(reason="slow benchmark: pass --slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


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
                fastest = ref.stats.min / other.stats.min
                unit = "medians"
                a, b = ref.extra_info.get("path_steps"), other.extra_info.get("path_steps")
                if a and b and a != b:  # a reference run on a sample: compare per unit of work
                    ratio, fastest, unit = ratio * b / a, fastest * b / a, "medians per path-step"
                lines.append(
                    f"{group}: {ref.name} / {other.name} = {ratio:,.1f}x ({unit}; "
                    f"{fastest:,.1f}x of the fastest rounds)"
                )
    for bench in session.benchmarks:
        info = bench.extra_info or {}
        if bench.stats is None or not info:
            continue
        parts = []
        if "path_steps" in info:
            parts.append(f"{bench.stats.median / info['path_steps'] * 1e9:.2f} ns per path-step")
        if "peak_mb" in info:
            parts.append(f"peak {info['peak_mb']:,.0f} MB")
        if "steps" in info:
            parts.append(info["steps"])
        if "scenarios" in info:
            parts.append(
                f"{info['scenarios']:,} scenarios: {bench.stats.median:.1f} s, of which the "
                f"solver {info['solve_s']:.1f} s"
            )
        if "cold_s" in info:
            parts.append(f"first call {info['cold_s']:.1f} s cold, {info['warm_s']:.1f} s cached")
        if parts:
            lines.append(f"{bench.name}: {', '.join(parts)}")
    if lines:
        terminalreporter.write_sep("-", "benchmark ratios")
        for line in lines:
            terminalreporter.write_line(line)
