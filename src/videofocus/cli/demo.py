"""`videofocus demo`: the whole system on the embedded default, on a CPU, with nothing to download."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import typer
from rich.table import Table

from videofocus.cli.app import app, console
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
    """Synthetic videos → a tiny Qwen2.5-VL built from scratch → SFT → GRPO → iterative perception →
    metrics, plots and a report."""
    from videofocus.demo import demo_settings, run_demo

    preset = "tiny" if tiny else "quick" if quick else "full"
    overrides = {"seed": seed, **({"threads": threads} if threads is not None else {})}
    result = run_demo(out, demo_settings(preset, **overrides), console=console,
                      command=shlex.join(["videofocus", *sys.argv[1:]]))
    console.print(results_table(result.table))
    console.print(f"Report: {result.report}", highlight=False)


def results_table(table: ResultsTable) -> Table:
    """The results as a rich table: a row per metric, a column per model and round."""
    shown = Table(title="held-out results (%), r1 = single round, r2+ = iterative perception", title_justify="left")
    shown.add_column("task")
    shown.add_column("metric")
    for model, number in table.columns:
        shown.add_column(f"{model} r{number}", justify="right")
    for row in table.rows:
        shown.add_row(row.title, row.metric,
                      *(f"{table.value(row, model, number):.1f}" for model, number in table.columns))
    return shown
