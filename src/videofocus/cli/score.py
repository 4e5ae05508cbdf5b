"""`videofocus score`: benchmark metrics of a prediction file against an annotation file."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from videofocus.cli.app import app, console, err_console
from videofocus.metrics import BENCHMARKS, ScoreReport, score_predictions
from videofocus.predictions import load_predictions
from videofocus.schema import read_samples

BenchmarkName = Enum("BenchmarkName", {name: name for name in BENCHMARKS}, type=str)


class TrackUnits(str, Enum):
    pixels = "pixels"
    normalised = "normalised"


@app.command()
def score(
    benchmark: Annotated[BenchmarkName, typer.Option(help="Which benchmark's metrics to compute.")],
    predictions: Annotated[Path, typer.Option(help="Prediction JSONL: {id, output} (raw model text), "
                                              "{id, answer, intervals, boxes, track} (parsed) or {id, error}.")],
    annotations: Annotated[Path, typer.Option(help="Annotation JSONL in the one sample format.")],
    json_output: Annotated[bool, typer.Option("--json", help="Print {benchmark, n, missing, metrics} as JSON.")] = False,
    strict: Annotated[bool, typer.Option(help="Treat duplicate prediction ids and ids without an "
                                         "annotation as errors instead of warnings.")] = False,
    track_units: Annotated[TrackUnits, typer.Option(help="Units of predicted tracking boxes: original-frame "
                                                    "pixels, or normalised 0-1 (what the tracking prompts "
                                                    "ask the model for).")] = TrackUnits.pixels,
) -> None:
    """Score predictions on a benchmark; missing and failed predictions count as wrong."""
    samples = list(read_samples(annotations))
    by_id = load_predictions(predictions, known_ids={sample.id for sample in samples}, strict=strict,
                             warn=_warn)
    report = score_predictions(benchmark.value, samples, by_id, track_units=track_units.value,
                               annotations=annotations)
    if json_output:
        typer.echo(json.dumps(report.as_dict()))
    else:
        console.print(f"{report.benchmark}: {report.n} samples, {report.missing} missing, {report.failed} failed",
                      highlight=False)
        console.print(_table(report))


def _warn(message: str) -> None:
    err_console.print(Text.assemble(("warning: ", "bold yellow"), message), soft_wrap=True)


def _table(report: ScoreReport) -> Table:
    table = Table()
    table.add_column("metric")
    table.add_column("value (%)", justify="right")
    for name, value in report.metrics.items():
        table.add_row(name, f"{value:.2f}")
    return table
