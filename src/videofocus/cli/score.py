"""`videofocus score`: benchmark metrics of a prediction file against an annotation file."""

from __future__ import annotations

import json
from collections.abc import Iterable
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from videofocus.cli.app import app, console, err_console
from videofocus.errors import ConfigError, DataError
from videofocus.metrics import BENCHMARKS, DEFAULT_TRACK_UNITS, ScoreReport, score_predictions
from videofocus.parsing import Prediction
from videofocus.predictions import PredictionLike, load_predictions
from videofocus.submissions import SUBMISSION_FORMATS, read_submission, write_submission
from videofocus.uncertainty import jackknife_standard_errors, summary_with_errors

if TYPE_CHECKING:
    from videofocus.schema import Sample

BenchmarkName = Enum("BenchmarkName", {name: name for name in BENCHMARKS}, type=str)


class TrackUnitsOption(str, Enum):
    pixels = "pixels"
    normalised = "normalised"


DEFAULT_TRACK_UNITS_OPTION = TrackUnitsOption(DEFAULT_TRACK_UNITS)  # score and eval share it
PREDICTIONS_FORMAT = "jsonl"  # ours: one {id, ...} line per sample (videofocus.predictions)
ReadFormat = Enum("ReadFormat", {name: name for name in (PREDICTIONS_FORMAT, *SUBMISSION_FORMATS)}, type=str)
ExportFormat = Enum("ExportFormat", {name: name for name in SUBMISSION_FORMATS}, type=str)


@app.command()
def score(
    benchmark: Annotated[BenchmarkName, typer.Option(help="Which benchmark's metrics to compute.")],
    predictions: Annotated[Path, typer.Option(help="Prediction JSONL: {id, output} (raw model text), "
                                              "{id, answer, intervals, boxes, track} (parsed) or {id, error}; "
                                              "or an official submission file (--format).")],
    annotations: Annotated[Path, typer.Option(help="Annotation JSONL in the one sample format.")],
    json_output: Annotated[bool, typer.Option("--json",
                                              help="Print {benchmark, n, missing, metrics} as JSON.")] = False,
    strict: Annotated[bool, typer.Option(help="Treat every warning as an error: duplicate prediction ids, "
                                         "ids without an annotation, track coordinates that contradict "
                                         "--track-units.")] = False,
    track_units: Annotated[TrackUnitsOption, typer.Option(help="Units of predicted tracking boxes: normalised 0-1 "
                                                    "(what the tracking prompts ask for; eval's default "
                                                    "too) or original-frame pixels. The output states "
                                                    "the units used.")] = DEFAULT_TRACK_UNITS_OPTION,
    read_format: Annotated[ReadFormat, typer.Option("--format", help="Format of --predictions: ours (jsonl) or an "
                                                    "official submission: qvhighlights/rextime JSONL (qid, "
                                                    "pred_relevant_windows, pred_saliency_scores, ans), nextgqa "
                                                    "{VIDEO_QID: [s, e]}, timechat {QUERY: {timestamp}}."
                                                    )] = ReadFormat(PREDICTIONS_FORMAT),
    answers: Annotated[Path | None, typer.Option(help="NExT-GQA answers {VIDEO_QID: letter or index} (default: "
                                                 "NAME.answers.json beside --predictions).")] = None,
    export: Annotated[ExportFormat | None, typer.Option(help="Also write the predictions as this official "
                                                        "submission format (to --export-file).")] = None,
    export_file: Annotated[Path | None, typer.Option(help="Where --export writes (nextgqa: answers beside it, "
                                                     "NAME.answers.json).")] = None,
    judge_url: Annotated[str | None, typer.Option(help="OpenAI-compatible endpoint of the LLM caption judge "
                                                  "(dream1k).")] = None,
    judge_model: Annotated[str | None, typer.Option(help="Model to ask at --judge-url.")] = None,
) -> None:
    """Score predictions on a benchmark; missing and failed predictions count as wrong."""
    from videofocus.schema import read_samples

    if (export is None) != (export_file is None):
        raise ConfigError("--export and --export-file go together: the format and where to write it")
    if answers is not None and read_format.value != "nextgqa":
        raise ConfigError("--answers is read with --format nextgqa only")
    judge = _judge(judge_url, judge_model)
    samples = list(read_samples(annotations))
    if not samples:  # before the predictions: one error, not a warning per prediction line
        raise DataError("the annotation file holds no samples to score against", path=str(annotations))
    by_id = _read_predictions(read_format.value, predictions, samples, answers=answers, strict=strict)
    units_problem = _unlikely_units(by_id.values(), track_units) if benchmark.value == "got10k" else None
    if units_problem and strict:
        raise ConfigError(units_problem)
    if units_problem:
        _warn(units_problem)
    report = score_predictions(benchmark.value, samples, by_id, track_units=track_units.value,
                               annotations=annotations, judge=judge)
    if export is not None:
        written = write_submission(export.value, export_file, samples, by_id)
        err_console.print(f"{export.value} submission written to {', '.join(map(str, written))}", highlight=False,
                          soft_wrap=True)
    if json_output:
        typer.echo(json.dumps(summary_with_errors(report)))
    else:
        units = f", track boxes read as {_UNITS_SAID[report.track_units]}" if report.track_units else ""
        console.print(f"{report.benchmark}: {report.n} samples, {report.missing} missing, {report.failed} failed"
                      f"{units}", highlight=False)
        console.print(_table(report))


def _read_predictions(read_format: str, path: Path, samples: list[Sample], *, answers: Path | None,
                      strict: bool) -> dict[str, PredictionLike]:
    """Predictions by sample id, from our prediction JSONL or an official submission file."""
    if read_format == PREDICTIONS_FORMAT:
        return load_predictions(path, known_ids={sample.id for sample in samples}, strict=strict, warn=_warn)
    return read_submission(read_format, path, samples, answers=answers, strict=strict, warn=_warn)


def _judge(url: str | None, model: str | None):
    """The caption judge the options name, or None."""
    if (url is None) != (model is None):
        raise ConfigError("--judge-url and --judge-model go together")
    if url is None:
        return None
    from videofocus.judge import CaptionJudge  # only the caption benchmark needs it

    return CaptionJudge(url, model)


_UNITS_SAID = {"normalised": "normalised 0-1 coordinates", "pixels": "original-frame pixels"}


def _warn(message: str) -> None:
    err_console.print(Text.assemble(("warning: ", "bold yellow"), message), soft_wrap=True)


def _unlikely_units(predictions: Iterable[PredictionLike], units: TrackUnitsOption) -> str | None:
    """What is wrong when the predicted track coordinates contradict `units`: all within [0, 1] for
    pixels, or some far above 1 for normalised (1.5 leaves room for boxes overshooting the frame)."""
    coordinates = [value for prediction in predictions if isinstance(prediction, Prediction) and prediction.track
                   for box in prediction.track for value in box]
    if not coordinates:
        return None
    if units is TrackUnitsOption.pixels and max(map(abs, coordinates)) <= 1.0:
        return ("every predicted track coordinate lies within [0, 1]; if they are normalised (as the tracking "
                "prompts ask), pass --track-units normalised")
    if units is TrackUnitsOption.normalised and max(coordinates) > 1.5:
        return (f"--track-units normalised, but a predicted track coordinate is {max(coordinates):g}; "
                "pixel boxes need --track-units pixels")
    return None


def _table(report: ScoreReport) -> Table:
    table = Table(caption="± one standard error (jackknife over samples)", caption_justify="left")
    table.add_column("metric")
    table.add_column("value (%)", justify="right")
    table.add_column("±", justify="right")
    errors = jackknife_standard_errors(report)
    for name, value in report.metrics.items():
        table.add_row(name, f"{value:.2f}", f"{errors[name]:.2f}")
    return table
