"""`videofocus demo`: the whole system on the embedded default, on a CPU, with nothing to download."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from videofocus.cli.app import app, console, stop_on_ctrl_c, this_command

if TYPE_CHECKING:
    from videofocus.report import ResultsTable


@app.command()
def demo(
    out: Path = typer.Option(Path("videofocus-demo"), "--out", help="Output folder; rerun to resume or to "
                                                                       "reprint the results."),
    quick: bool = typer.Option(False, "--quick", help="A smaller, faster run (a few minutes)."),
    threads: int | None = typer.Option(None, "--threads", min=1,
                                       help="Torch CPU threads (default 1: fastest on a machine whose cores are "
                                            "busy with other work; try 2-4 on an idle one)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the data, the model and the training."),
    tiny: bool = typer.Option(False, "--tiny", hidden=True, help="Seconds-long run for tests."),
) -> None:
    """Synthetic videos → a tiny Qwen3-VL built from scratch → SFT → GRPO → iterative perception →
    metrics, plots and a report."""
    from videofocus.demo import demo_settings, run_demo

    preset = "tiny" if tiny else "quick" if quick else "full"
    overrides = {"seed": seed, **({"threads": threads} if threads is not None else {})}
    with stop_on_ctrl_c(lambda: _where_demo_stopped(out)):
        result = run_demo(out, demo_settings(preset, **overrides), console=console, command=this_command())
    console.print(results_table(result.table))
    console.print(f"Report: {result.report}", highlight=False)


def _where_demo_stopped(out: Path) -> str:
    from videofocus.demo import DemoLayout

    done = DemoLayout(out).finished_stages()
    finished = f"finished stages ({', '.join(done)}) are kept in {out}" if done else f"no stage finished yet in {out}"
    return f"{finished}; to go on from the stage it stopped in, run the same command again: {this_command()}"


def results_table(table: ResultsTable) -> Table:
    """The results as a rich table that fits a terminal: a row per model and round, a column per metric."""
    shown = Table(title="Held-out results (%)", title_justify="left", caption_justify="left",
                  caption="r1: one round, uniform frames; r2, r3: iterative perception, same budget")
    shown.add_column("model", no_wrap=True)
    shown.add_column("round", justify="right")
    for row in table.rows:
        shown.add_column(f"{row.title}\n{row.metric}", justify="right")
    for model in table.models:
        for number in table.rounds:
            shown.add_row(model if number == table.rounds[0] else "", f"r{number}",
                          *(f"{table.value(row, model, number):.1f}" for row in table.rows),
                          end_section=number == table.rounds[-1])
    return shown
