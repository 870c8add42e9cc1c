"""mkdocs hook: the benchmarks page, written from a saved pytest-benchmark run.

``docs/benchmarks/benchmarks.json`` is what ``pytest tests/benchmarks --benchmark-json=...``
wrote; nothing on the page is typed by hand. A page asks for it with the marker line
``<!-- benchmarks -->``. The ratios are the ones ``tests/benchmarks/conftest.py`` prints at the
end of a run: each ``*reference*`` benchmark's median over each other benchmark's median in its
group, per path-step when the two did different amounts of work.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "docs" / "benchmarks" / "benchmarks.json"
COMMAND = "pytest tests/benchmarks --benchmark-json=docs/benchmarks/benchmarks.json -p no:randomly"
MARKER = "<!-- benchmarks -->"


def _time(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:,.3g} {unit}"
    return f"{seconds / 1e-9:,.3g} ns"


def _extra(info: dict[str, Any]) -> str:
    parts = []
    for key, value in info.items():
        if key == "steps" or key.startswith("step_"):
            continue  # the nightly run's steps: shown on a line of their own
        if isinstance(value, float):
            value = f"{value:,.3g}"
        elif isinstance(value, int):
            value = f"{value:,}"
        parts.append(f"{key.replace('_', ' ')} {value}")
    if "steps" in info:
        parts.append(f"steps: {info['steps']}")
    return "; ".join(parts)


def _ratios(group: str, benches: list[dict[str, Any]]) -> list[str]:
    rows = []
    for ref in benches:
        if "reference" not in ref["name"]:
            continue
        for other in benches:
            if other is ref or "reference" in other["name"]:
                continue
            ratio = ref["stats"]["median"] / other["stats"]["median"]
            fastest = ref["stats"]["min"] / other["stats"]["min"]
            a = (ref.get("extra_info") or {}).get("path_steps")
            b = (other.get("extra_info") or {}).get("path_steps")
            unit = "medians"
            if a and b and a != b:
                ratio, fastest, unit = ratio * b / a, fastest * b / a, "per path-step"
            pair = f"`{ref['name']}` / `{other['name']}`"
            rows.append(f"| {group} | {pair} | **{ratio:,.1f}x** | {fastest:,.1f}x | {unit} |")
    return rows


def render(path: Path = RESULTS) -> str:
    data = json.loads(path.read_text())
    machine, commit = data["machine_info"], data["commit_info"]
    cpu = machine.get("cpu", {})
    when = dt.datetime.fromisoformat(data["datetime"]).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "The run these figures come from:",
        "",
        f"```bash\n{COMMAND}\n```",
        "",
        "| | |",
        "| --- | --- |",
        f"| date | {when} |",
        f"| commit | `{commit.get('id', '?')[:12]}`"
        + (" (with uncommitted changes)" if commit.get("dirty") else "")
        + f" on `{commit.get('branch', '?')}` |",
        f"| machine | {cpu.get('brand_raw', machine.get('processor') or '?')}, "
        f"{cpu.get('count', '?')} cores, {machine.get('system')} {machine.get('release')} |",
        f"| Python | {machine.get('python_implementation')} {machine.get('python_version')} |",
        f"| pytest-benchmark | {data.get('version')} |",
        "",
    ]
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for bench in data["benchmarks"]:
        groups[bench.get("group") or ""].append(bench)
    ratios = [row for group in sorted(groups) for row in _ratios(group, groups[group])]
    if ratios:
        lines += [
            "## Against the reference in the same run",
            "",
            "| group | reference / ours | median | fastest rounds | compared |",
            "| --- | --- | --- | --- | --- |",
            *ratios,
            "",
        ]
    lines += ["## Every benchmark", ""]
    for group in sorted(groups):
        lines += [
            f"### {group}",
            "",
            "| benchmark | median | fastest | rounds | per path-step | figures |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for bench in groups[group]:
            stats, info = bench["stats"], bench.get("extra_info") or {}
            steps = info.get("path_steps")
            per_step = f"{stats['median'] / steps * 1e9:,.2f} ns" if steps else ""
            lines.append(
                f"| `{bench['name']}` | {_time(stats['median'])} | {_time(stats['min'])} "
                f"| {stats['rounds']} | {per_step} | {_extra(info)} |"
            )
        lines.append("")
    return "\n".join(lines)


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, render())
