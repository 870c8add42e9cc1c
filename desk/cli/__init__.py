"""The ``carbon`` command line: the root group, and where each command lives.

Errors print one line on stderr and exit with a code of ``desk.exit_codes``; ``--debug`` shows
the traceback instead. A command's module is imported when the command is invoked (or its
``--help`` asked for), never to list the commands: ``carbon --help`` loads no numerical library.
"""

from __future__ import annotations

import click

from desk.cli.common import LazyGroup

COMMANDS: dict[str, tuple[str, str]] = {
    # name: ("module:attribute", the command's own short help: tests/desk/cli/test_help.py)
    "alerts": ("desk.cli.alerts:alerts",
               "Alerts: check the rules on prices, list them, acknowledge and resolve them."),
    "audit": ("desk.cli.audit:audit_group",
              "The store's audit chain: verify it, print its head, manage its key."),
    "backtest": ("desk.cli.backtest:backtest_command",
                 'Backtest a strategy against the others and "buy at the deadline".'),
    "data": ("desk.cli.data:data",
             "Market data: look at a price history, or check a file before using it."),
    "init": ("desk.cli.nightly:init_command",
             "Write a commented example configuration (desk.toml) and its book into FOLDER."),
    "model": ("desk.cli.model:model",
              "Volatility models: validate them on a price history by their forecasts."),
    "nightly": ("desk.cli.nightly:nightly_command",
                "Tonight's run: plans with their risk, alerts, KPIs and the report."),
    "optimise": ("desk.cli.optimise:optimise_command",
                 "Tomorrow's plan for one compliance book, with its risk out of sample."),
    "simulate": ("desk.cli.simulate:simulate_command",
                 "Fit the volatility model and simulate prices: fan chart, quantiles, model."),
}  # fmt: skip


@click.group(
    name="carbon",
    cls=LazyGroup,
    lazy=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(package_name="carbon-desk")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """carbon desk: trading and risk for carbon allowances (CEA first, EUA second).

    \b
    Exit codes: 0 ok, 1 unexpected error, 2 wrong usage,
    3 bad or missing market data, 4 impossible configuration,
    5 no usable volatility model, 6 no feasible plan,
    7 done, and a critical alert is open (not acknowledged),
    8 the audit chain is broken,
    9 the validated model is in the Basel red zone,
    141 the reader of the output went away (| head).
    """
    ctx.ensure_object(dict)["debug"] = debug


def main() -> None:
    cli(prog_name="carbon")


__all__ = ["COMMANDS", "cli", "main"]
