"""Results as a reader sees them: a table of metrics by model and perception round, read from
evaluation folders (`videofocus.evaluate`'s metrics.json); the table as markdown; figures of the
training curves (trainer metrics.jsonl), of each metric against the round, and of example timelines
(where each round looked and what it answered); and a markdown report that puts them together.

Used by the demo and the learning benchmark; values are percentages, as everywhere in scoring."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

from videofocus.errors import DataError  # noqa: E402
from videofocus.perception import PerceptionResult  # noqa: E402
from videofocus.plots import TimelineRow, plot_timeline, result_title, timeline_rows  # noqa: E402
from videofocus.schema import Sample, atomic_writer, iter_jsonl, read_samples  # noqa: E402

EVAL_METRICS_FILE = "metrics.json"      # what videofocus.evaluate writes per run folder
EVAL_PREDICTIONS_FILE = "predictions.jsonl"
EVAL_SAMPLES_FILE = "samples.jsonl"


@dataclass(frozen=True)
class MetricRow:
    """One row of a results table: `metric` of `benchmark`, evaluated on the data `selection`;
    `title` names the selection for readers."""

    title: str
    selection: str
    benchmark: str
    metric: str

    @property
    def label(self) -> str:
        return f"{self.title} {self.metric}"


@dataclass(frozen=True)
class ResultsTable:
    """Metric values (%) by row, model and round: `values[(row.label, model, round)]`."""

    rows: tuple[MetricRow, ...]
    models: tuple[str, ...]
    rounds: tuple[int, ...]
    values: dict[tuple[str, str, int], float]

    @property
    def columns(self) -> list[tuple[str, int]]:
        return [(model, number) for model in self.models for number in self.rounds]

    def value(self, row: MetricRow, model: str, round_number: int) -> float:
        return self.values[(row.label, model, round_number)]

    def to_json(self) -> dict[str, Any]:
        """{"rounds", "models", "rows": [{row fields, "values": {model: {round: value}}}]}."""
        return {"models": list(self.models), "rounds": list(self.rounds), "rows": [
            {"label": row.label, "title": row.title, "selection": row.selection, "benchmark": row.benchmark,
             "metric": row.metric,
             "values": {model: {str(number): self.value(row, model, number) for number in self.rounds}
                        for model in self.models}}
            for row in self.rows]}


def read_results(eval_dirs: Mapping[str, Mapping[str, str | os.PathLike]], rows: Sequence[MetricRow],
                 rounds: Sequence[int]) -> ResultsTable:
    """The table of `rows` × `rounds` for each model, from `eval_dirs[model][selection]`, an
    evaluation folder holding metrics.json. DataError names the file and what it lacks."""
    values = {}
    for model, folders in eval_dirs.items():
        for row in rows:
            if row.selection not in folders:
                raise DataError(f"no evaluation folder of {row.selection!r} for model {model!r}")
            path = Path(folders[row.selection]) / EVAL_METRICS_FILE
            by_round = _round_metrics(path, row.benchmark)
            for number in rounds:
                metrics = by_round.get(str(number))
                if metrics is None or row.metric not in metrics:
                    raise DataError(f"no {row.metric} for round {number}", path=str(path),
                                    field=f"rounds.{number}.metrics.{row.metric}")
                values[(row.label, model, number)] = float(metrics[row.metric])
    return ResultsTable(rows=tuple(rows), models=tuple(eval_dirs), rounds=tuple(rounds), values=values)


def _round_metrics(path: Path, benchmark: str) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError("evaluation metrics not found (has the evaluation finished?)", path=str(path)) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"not valid JSON ({exc})", path=str(path)) from None
    if not isinstance(data, dict) or not isinstance(data.get("rounds"), dict):
        raise DataError("expected an object with a 'rounds' mapping", path=str(path), field="rounds")
    if data.get("benchmark") != benchmark:
        raise DataError(f"benchmark {data.get('benchmark')!r}, expected {benchmark!r}", path=str(path),
                        field="benchmark")
    return {number: (entry or {}).get("metrics", {}) for number, entry in data["rounds"].items()}


def table_markdown(table: ResultsTable) -> str:
    """The table as markdown: one line per row, one column per (model, round)."""
    header = "| task | metric | " + " | ".join(f"{model} r{number}" for model, number in table.columns) + " |"
    rule = "| --- | --- | " + " | ".join("---:" for _ in table.columns) + " |"
    lines = [header, rule]
    for row in table.rows:
        cells = " | ".join(f"{table.value(row, model, number):.1f}" for model, number in table.columns)
        lines.append(f"| {row.title} | {row.metric} | {cells} |")
    return "\n".join(lines)


# ----- figures ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CurvePanel:
    """One panel of the training-curve figure: `keys` of a trainer's metrics.jsonl against its step."""

    title: str
    metrics_file: Path
    keys: tuple[str, ...]


def read_training_metrics(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The records of a trainer's metrics.jsonl (one JSON object a line, each with its "step")."""
    records = []
    for line, record in iter_jsonl(path):
        if not isinstance(record.get("step"), int):
            raise DataError("record without an integer step", path=str(path), line=line, field="step")
        records.append(record)
    return records


def plot_training_curves(panels: Sequence[CurvePanel], path: str | os.PathLike) -> Path:
    """One panel per CurvePanel, side by side; keys a run did not log are left out of its panel."""
    runs = [read_training_metrics(panel.metrics_file) for panel in panels]
    figure, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.6), squeeze=False)
    for axis, panel, records in zip(axes[0], panels, runs):
        for key in panel.keys:
            points = [(record["step"], record[key]) for record in records if _number(record.get(key))]
            if points:
                axis.plot(*zip(*points), label=key, linewidth=1.2)
        axis.set_title(panel.title)
        axis.set_xlabel("step")
        axis.legend(fontsize="small")
    return _save(figure, path)


def plot_rounds(table: ResultsTable, path: str | os.PathLike) -> Path:
    """One panel per row: its metric against the perception round, a line per model."""
    columns = min(len(table.rows), 3)
    lines = math.ceil(len(table.rows) / columns)
    figure, axes = plt.subplots(lines, columns, figsize=(4.2 * columns, 3.2 * lines), squeeze=False)
    for axis, row in zip(axes.flat, table.rows):
        for model in table.models:
            axis.plot(table.rounds, [table.value(row, model, number) for number in table.rounds], marker="o",
                      label=model)
        axis.set_title(row.label, fontsize="medium")
        axis.set_xticks(table.rounds)
        axis.set_xlabel("perception round")
        axis.set_ylabel("%")
        axis.legend(fontsize="small")
    for axis in list(axes.flat)[len(table.rows):]:
        axis.set_visible(False)
    return _save(figure, path)


def plot_example_timelines(eval_dir: str | os.PathLike, out_dir: str | os.PathLike, *, count: int,
                           prefix: str) -> list[Path]:
    """Timelines of the first `count` video samples of an evaluation folder with a ground-truth interval:
    per round the frames looked at, the focus and the predicted interval; a brief-evidence flash (sample
    meta flash_start/flash_end) as its own row. Files `<prefix>_<k>.png` in `out_dir`."""
    folder = Path(eval_dir)
    samples = {sample.id: sample for sample in read_samples(folder / EVAL_SAMPLES_FILE)}
    paths = []
    for _, line in iter_jsonl(folder / EVAL_PREDICTIONS_FILE):
        if len(paths) >= count:
            break
        sample = samples.get(line.get("id"))
        if line.get("error") is not None or sample is None or sample.media.type != "video" or not _truth(sample):
            continue
        result = PerceptionResult.from_dict(line)
        rows = _flash_row(sample) + timeline_rows(result)
        path = Path(out_dir) / f"{prefix}_{len(paths) + 1}.png"
        paths.append(plot_timeline(rows, sample.media.duration or _last_time(result), path,
                                   ground_truth=_truth(sample),
                                   title=result_title(sample.question, result,
                                                      truth=sample.answer if sample.options else None)))
    return paths


def _truth(sample: Sample) -> list[tuple[float, float]]:
    return [tuple(pair) for pair in sample.clue.intervals] if sample.clue and sample.clue.intervals else []


def _flash_row(sample: Sample) -> list[TimelineRow]:
    meta = sample.meta or {}
    if not (_number(meta.get("flash_start")) and _number(meta.get("flash_end"))):
        return []
    return [TimelineRow(label="answer visible", intervals=[(float(meta["flash_start"]), float(meta["flash_end"]))])]




def _last_time(result: PerceptionResult) -> float:
    return max((time for round_ in result.rounds for time in round_.view.timestamps), default=1.0)


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _save(figure, path: str | os.PathLike) -> Path:
    path = Path(path)
    figure.tight_layout()
    with atomic_writer(path, "wb") as handle:
        figure.savefig(handle, format="png", dpi=100, metadata={"Software": None})
    plt.close(figure)
    return path


# ----- the report -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Figure:
    caption: str
    path: Path


def write_report(path: str | os.PathLike, *, title: str, summary: Sequence[str], table: ResultsTable,
                 table_note: str, figures: Sequence[Figure], sections: Sequence[tuple[str, Sequence[str]]] = ()
                 ) -> Path:
    """A markdown report: title, summary lines, the results table and its note, the figures (linked
    relative to the report), then further sections (heading, lines)."""
    path = Path(path)
    text = [f"# {title}", "", *summary, "", "## Results", "", table_markdown(table), "", table_note, ""]
    for figure in figures:
        text += [f"![{figure.caption}]({os.path.relpath(figure.path, path.parent)})", "", f"*{figure.caption}*", ""]
    for heading, lines in sections:
        text += [f"## {heading}", "", *lines, ""]
    with atomic_writer(path) as handle:
        handle.write("\n".join(text).rstrip() + "\n")
    return path
