"""`videofocus demo`: the whole system on the embedded default, on a CPU, with nothing to download."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich import box
from rich.table import Table

from videofocus.cli.app import app, console, stop_on_ctrl_c, this_command

if TYPE_CHECKING:
    from videofocus.report import ResultsTable


@app.command()
def demo(
    out: Path = typer.Option(Path("runs/demo"), "--out", help="Output folder; rerun to resume or to reprint the "
                                                             "results (the repository's .gitignore covers runs/)."),
    quick: bool = typer.Option(False, "--quick", help="A smaller, faster run (a few minutes): fewer held-out "
                                                      "samples and GRPO steps. Give it its own --out."),
    from_scratch: bool = typer.Option(False, "--from-scratch",
                                      help="Build the model and its SFT warm-up in this run instead of starting from "
                                           "the shipped warm-up (about 15 more minutes; the warm-up reads the videos "
                                           "far less well)."),
    build_warmup: bool = typer.Option(False, "--build-warmup",
                                      help="Only build a warm-up model with the recipe of the shipped one (hours on "
                                           "2 CPU cores; resumable) into --out."),
    stage1_from: Path | None = typer.Option(None, "--stage1-from",
                                            help="With --build-warmup: run only the second stage, from the finished "
                                                 "first stage in this folder (e.g. a copy of the warm-up shipped "
                                                 "before the second stage existed; its warmup.json is checked)."),
    install: bool = typer.Option(False, "--install", help="With --build-warmup: ship the result as the package's "
                                                          "warm-up (replaces src/videofocus/demo/warmup_model)."),
    threads: int | None = typer.Option(None, "--threads", min=1,
                                       help="Torch CPU threads (default 1: fastest on a machine whose cores are "
                                            "busy with other work; try 2-4 on an idle one)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the data and the training (the shipped warm-up "
                                                      "was built with seed 0; other seeds need --from-scratch)."),
    tiny: bool = typer.Option(False, "--tiny", hidden=True, help="Seconds-long run for tests."),
) -> None:
    """Synthetic videos → a warm-up Qwen3-VL that reads them → GRPO, and SFT on as many samples →
    iterative perception → metrics beside video-blind baselines, plots and a report that says first
    whether the targets were met."""
    from videofocus.demo import build_warmup as build, demo_settings, run_demo
    from videofocus.demo.pipeline import held_out_size_note

    command = this_command()
    overrides = {"seed": seed, **({"threads": threads} if threads is not None else {})}
    for flag, given in (("--install", install), ("--stage1-from", stage1_from is not None)):
        if given and not build_warmup:
            raise typer.BadParameter(f"{flag} goes with --build-warmup", param_hint=flag)
    if build_warmup:
        with stop_on_ctrl_c(lambda: _where_demo_stopped(out)):
            model = build(out, demo_settings("warmup", **overrides), console=console, command=command,
                          install=install, stage1_from=stage1_from)
        console.print(f"Warm-up model: {model}", highlight=False)
        return
    preset = "tiny" if tiny else "scratch" if from_scratch else "quick" if quick else "full"
    if quick and from_scratch:
        overrides.update(warmup="scratch", sft_steps=150)
    settings = demo_settings(preset, **overrides)
    with stop_on_ctrl_c(lambda: _where_demo_stopped(out)):
        result = run_demo(out, settings, console=console, command=command)
    for target in result.targets:
        console.print(f"{'[green]met' if target.met else '[bold red]MISSED'}[/]: {target.goal} ({target.detail})",
                      highlight=False, soft_wrap=True)
    if note := held_out_size_note(settings):
        console.print(note, highlight=False)
    console.print(results_table(result.table))
    console.print(f"Report: {result.report}", highlight=False)


def _where_demo_stopped(out: Path) -> str:
    from videofocus.demo import DemoLayout

    done = DemoLayout(out).finished_stages()
    finished = f"finished stages ({', '.join(done)}) are kept in {out}" if done else f"no stage finished yet in {out}"
    return f"{finished}; to go on from the stage it stopped in, run the same command again: {this_command()}"


def results_table(table: ResultsTable) -> Table:
    """The results as a rich table that fits a terminal: the video-blind row, then a row per model and
    round, a column per metric; value ± standard error, marked where not above the video-blind row."""
    from videofocus.report import BASELINE_LABEL, NOT_ABOVE_MARK

    # Borderless, unpadded columns and "value±error" cells keep the table one line a row in 80 columns.
    shown = Table(title="Held-out results (%)", title_justify="left", caption_justify="left", box=box.SIMPLE_HEAD,
                  padding=(0, 0, 0, 1), collapse_padding=True,
                  caption=f"r1: one round, uniform frames; r2, r3: iterative perception, same budget. "
                          f"{NOT_ABOVE_MARK}: not above the video-blind row by more than its standard error")
    shown.add_column("model", no_wrap=True)
    shown.add_column("round", justify="right")
    for row in table.rows:
        shown.add_column(f"{row.title}\n{row.metric}", justify="right")
    if table.baselines:
        shown.add_row(BASELINE_LABEL, "–", *(_compact(table.baseline_text(row)) for row in table.rows),
                      end_section=True)
    for model in table.models:
        for number in table.rounds:
            shown.add_row(model if number == table.rounds[0] else "", f"r{number}",
                          *(_compact(table.cell_text(row, model, number)) for row in table.rows),
                          end_section=number == table.rounds[-1])
    return shown


def _compact(cell: str) -> str:
    return cell.replace(" ± ", "±")

