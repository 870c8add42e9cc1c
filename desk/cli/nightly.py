"""``carbon nightly`` and ``carbon init``."""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from pathlib import Path

import click

from desk import exit_codes
from desk.cli.common import STORE_OPTION, hedge_lines, out_option, say, stream_gone


def _progress(quiet: bool, log_format: str):
    """The step reporter: JSON lines on stderr, a live line on a terminal, or nothing."""
    if log_format == "json":
        starts: dict[str, float] = {}

        def log(step: str, state: str) -> None:
            now = time.perf_counter()
            event = {"time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                     "level": "info", "event": f"step {state}", "step": step}  # fmt: skip
            if state == "start":
                starts[step] = now
            else:
                event["seconds"] = round(now - starts.get(step, now), 3)
            say(json.dumps(event))  # a closed stderr does not stop the run

        return log, None
    if quiet or not sys.stderr.isatty():
        return None, None
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                   console=Console(stderr=True), transient=False, redirect_stdout=False,
                   redirect_stderr=False)  # fmt: skip
    tasks: dict[str, int] = {}

    def show(step: str, state: str) -> None:
        if state == "start":
            tasks[step] = bar.add_task(step, total=1)
        else:
            bar.update(tasks[step], completed=1)

    return show, bar


@click.command(
    "nightly", short_help="Tonight's run: plans with their risk, alerts, KPIs and the report."
)
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              help="The desk configuration (TOML; `carbon init` writes an example). Default: "
              "the packaged example on the embedded reference market.")  # fmt: skip
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Plan as of this date: prices after it are ignored (default: all).")  # fmt: skip
@out_option(None, "the run folders (default: the configuration's [run] out)")
@STORE_OPTION
@click.option("--quiet", is_flag=True, help="No progress; only the summary and errors.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="json: a JSON object a line on stderr per step.")  # fmt: skip
def nightly_command(
    config_path: Path | None,
    as_of: dt.datetime | None,
    out: Path | None,
    store: Path | None,
    quiet: bool,
    log_format: str,
) -> None:
    """Tonight's run: data, model and scenarios, a plan per entity with its risk out of
    sample, alerts, KPIs, and the run folder with report.html and the run record.

    \b
    Exit codes: 0 ok; 3 bad market data; 4 invalid configuration (or an entity whose book
    cannot be planned); 5 no usable model; 6 an entity's plan is infeasible or its solvers
    failed (the other entities are still planned and written); 7 a critical alert of the
    night's markets or entities is open (not acknowledged: `carbon alerts ack` it).
    """
    from desk.config.desk import load_config
    from desk.nightly.run import run_nightly

    config = load_config(config_path)
    reporter, bar = _progress(quiet, log_format)
    if bar is not None:
        with bar:
            run = run_nightly(config, as_of=as_of and as_of.date(), out=out, store=store,
                              progress=reporter)  # fmt: skip
    else:
        run = run_nightly(config, as_of=as_of and as_of.date(), out=out, store=store,
                          progress=reporter)  # fmt: skip
    try:
        if log_format == "json":
            click.echo(json.dumps(_summary(run)))
        else:
            _print_summary(run)
    except BrokenPipeError:  # `| head`: the run is stored; its exit code still stands
        stream_gone()
    sys.exit(run.exit_code)


def _summary(run) -> dict:
    return {"event": "run done", "as_of": run.as_of.isoformat(), "run_id": run.run_id,
            "folder": str(run.folder), "exit_code": run.exit_code, "audit_head": run.audit_head,
            "alerts_new": len(run.alerts_new), "alerts_open": len(run.alerts_open),
            "alerts_critical": len(run.alerts_critical),
            "entities": run.record["entities"], "problems": list(run.alert_problems),
            "seconds": run.record["timings_s"].get("total")}  # fmt: skip


def _print_summary(run) -> None:
    for e in run.entities:
        if e.error is not None:
            click.echo(f"{e.entity.name}: FAILED: {type(e.error).__name__}: {e.error}")
            continue
        p, ev, bench = e.plan, e.evaluation, e.benchmark
        money = run.markets[e.entity.book.market].rules.currency
        click.echo(
            f"{e.entity.name}: buy {p.buy_today_t:,.0f} t, sell {p.sell_today_t:,.0f} t, "
            f"forward {p.forward_t:,.0f} t, CCER {p.ccer_today_t:,.0f} t; out of sample "
            f"E[cost] {money} {ev.expected_cost:,.0f}, CVaR95 {money} {ev.cvar:,.0f}, "
            f"P(shortfall) {ev.shortfall_probability:.1%} (buy at the deadline: E[cost] "
            f"{money} {bench.expected_cost:,.0f})"
        )
        for line in hedge_lines(p, money):
            click.echo(f"  {line}")
    critical = len(run.alerts_critical)
    click.echo(
        f"alerts: {len(run.alerts_new)} new, {len(run.alerts_open)} open or acknowledged, "
        f"{critical} critical not acknowledged"
        + (" (carbon alerts list --state open --severity critical)" if critical else "")
    )
    for problem in run.alert_problems:
        click.echo(f"warning: {problem}")
    click.echo(f"run {run.run_id}: {run.folder / 'report.html'} (exit {run.exit_code})")
    click.echo(f"audit chain head: {run.audit_head}")


@click.command("init")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path), default=Path("."))
@click.option("--force", is_flag=True, help="Overwrite files that are there.")
def init_command(folder: Path, force: bool) -> None:
    """Write a commented example configuration (desk.toml) and its book into FOLDER."""
    from desk.config.desk import write_example

    for path in write_example(folder, force=force):
        click.echo(f"wrote {path}")
    click.echo(f"next: carbon nightly --config {folder / 'desk.toml'}")
    sys.exit(exit_codes.OK)
