"""Results as a reader sees them: a table of metrics by model and perception round, read from
evaluation folders (`videofocus.evaluate`'s metrics.json); the table as markdown; figures of the
training curves (trainer metrics.jsonl), of each metric against the round, and of example timelines
(where each round looked and what it answered); and a markdown report that puts them together.

Used by the demo and the learning benchmark; values are percentages, as everywhere in scoring."""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

from videofocus.errors import DataError  # noqa: E402
from videofocus.jsonfiles import iter_jsonl, read_json_object  # noqa: E402
from videofocus.perception import PerceptionResult  # noqa: E402
from videofocus.plots import TimelineRow, plot_timeline, result_title, timeline_rows  # noqa: E402
from videofocus.schema import Sample, read_samples  # noqa: E402
from videofocus.storage import atomic_writer  # noqa: E402

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


BASELINE_LABEL = "video-blind"
NOT_ABOVE_MARK = "°"


@dataclass(frozen=True)
class Cell:
    """One value of a results table (%) and its standard error (percentage points)."""

    value: float
    error: float


@dataclass(frozen=True)
class ResultsTable:
    """Metric values (%) with standard errors by row, model and round: `cells[(row.label, model,
    round)]`; and per row, optionally, what a video-blind answer scores (`baselines[row.label]`)."""

    rows: tuple[MetricRow, ...]
    models: tuple[str, ...]
    rounds: tuple[int, ...]
    cells: dict[tuple[str, str, int], Cell]
    baselines: dict[str, Cell] = field(default_factory=dict)

    @property
    def columns(self) -> list[tuple[str, int]]:
        return [(model, number) for model in self.models for number in self.rounds]

    def cell(self, row: MetricRow, model: str, round_number: int) -> Cell:
        return self.cells[(row.label, model, round_number)]

    def value(self, row: MetricRow, model: str, round_number: int) -> float:
        return self.cell(row, model, round_number).value

    def beats_baseline(self, row: MetricRow, model: str, round_number: int) -> bool | None:
        """Whether the value is above the row's video-blind baseline by more than its standard
        error (None without a baseline)."""
        baseline = self.baselines.get(row.label)
        if baseline is None:
            return None
        cell = self.cell(row, model, round_number)
        return cell.value - baseline.value > cell.error

    def cell_text(self, row: MetricRow, model: str, round_number: int) -> str:
        """"value ± error", marked NOT_ABOVE_MARK where not above the baseline by more than the error."""
        cell = self.cell(row, model, round_number)
        mark = NOT_ABOVE_MARK if self.beats_baseline(row, model, round_number) is False else ""
        return f"{cell.value:.1f} ± {cell.error:.1f}{mark}"

    def baseline_text(self, row: MetricRow) -> str:
        """The row's video-blind "value ± error" ("" without one)."""
        baseline = self.baselines.get(row.label)
        return "" if baseline is None else f"{baseline.value:.1f} ± {baseline.error:.1f}"

    def with_baselines(self, baselines: Mapping[str, Cell]) -> ResultsTable:
        return replace(self, baselines=dict(baselines))

    def to_json(self) -> dict[str, Any]:
        """{"rounds", "models", "rows": [{row fields, "values": {model: {round: value}}, "errors": the
        same for standard errors, "baseline": {"value", "error"} or null}]}."""
        return {"models": list(self.models), "rounds": list(self.rounds), "rows": [
            {"label": row.label, "title": row.title, "selection": row.selection, "benchmark": row.benchmark,
             "metric": row.metric,
             "values": {model: {str(number): self.value(row, model, number) for number in self.rounds}
                        for model in self.models},
             "errors": {model: {str(number): self.cell(row, model, number).error for number in self.rounds}
                        for model in self.models},
             "baseline": (dataclasses.asdict(self.baselines[row.label]) if row.label in self.baselines else None)}
            for row in self.rows]}


def read_results(eval_dirs: Mapping[str, Mapping[str, str | os.PathLike]], rows: Sequence[MetricRow],
                 rounds: Sequence[int]) -> ResultsTable:
    """The table of `rows` × `rounds` for each model, from `eval_dirs[model][selection]`, an
    evaluation folder holding metrics.json (values and standard errors). DataError names the file
    and what it lacks."""
    cells = {}
    for model, folders in eval_dirs.items():
        for row in rows:
            if row.selection not in folders:
                raise DataError(f"no evaluation folder of {row.selection!r} for model {model!r}")
            path = Path(folders[row.selection]) / EVAL_METRICS_FILE
            by_round = _round_metrics(path, row.benchmark)
            for number in rounds:
                entry = by_round.get(str(number), {})
                for part in ("metrics", "standard_errors"):
                    if row.metric not in entry.get(part, {}):
                        raise DataError(f"no {row.metric} for round {number}", path=str(path),
                                        field=f"rounds.{number}.{part}.{row.metric}")
                cells[(row.label, model, number)] = Cell(float(entry["metrics"][row.metric]),
                                                         float(entry["standard_errors"][row.metric]))
    return ResultsTable(rows=tuple(rows), models=tuple(eval_dirs), rounds=tuple(rounds), cells=cells)


def _round_metrics(path: Path, benchmark: str) -> dict[str, dict[str, Any]]:
    if not path.is_file():
        raise DataError("evaluation metrics not found (has the evaluation finished?)", path=str(path))
    data = read_json_object(path)
    if not isinstance(data.get("rounds"), dict):
        raise DataError("expected an object with a 'rounds' mapping", path=str(path), field="rounds")
    if data.get("benchmark") != benchmark:
        raise DataError(f"benchmark {data.get('benchmark')!r}, expected {benchmark!r}", path=str(path),
                        field="benchmark")
    return {number: entry if isinstance(entry, dict) else {} for number, entry in data["rounds"].items()}


def table_markdown(table: ResultsTable) -> str:
    """The table as markdown: a row per model and round (the video-blind baseline first, where the
    table has one), a column per task metric; each cell "value ± standard error", marked with
    NOT_ABOVE_MARK where it is not above its baseline by more than its standard error."""
    header = "| model | round | " + " | ".join(f"{row.title} {row.metric}" for row in table.rows) + " |"
    lines = [header, "| --- | ---: | " + " | ".join("---:" for _ in table.rows) + " |"]
    if table.baselines:
        lines.append(f"| {BASELINE_LABEL} | – | " + " | ".join(table.baseline_text(row) for row in table.rows) + " |")
    for model, number in table.columns:
        cells = [table.cell_text(row, model, number) for row in table.rows]
        lines.append(f"| {model} | r{number} | " + " | ".join(cells) + " |")
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
    """One panel per row, titled by task and metric: the metric (0-100 %) against the perception
    round, a line per model with standard-error bars, the video-blind baseline as a dashed line. One
    legend for the figure, below the panels, so that it covers no data."""
    columns = min(len(table.rows), 4)
    lines = math.ceil(len(table.rows) / columns)
    figure, axes = plt.subplots(lines, columns, figsize=(3.6 * columns, 3.0 * lines + 0.7), squeeze=False)
    colours = {model: f"C{index}" for index, model in enumerate(table.models)}
    for axis, row in zip(axes.flat, table.rows):
        for model in table.models:
            cells = [table.cell(row, model, number) for number in table.rounds]
            axis.errorbar(table.rounds, [cell.value for cell in cells], yerr=[cell.error for cell in cells],
                          marker="o", capsize=3, color=colours[model], label=model)
        if row.label in table.baselines:
            axis.axhline(table.baselines[row.label].value, color="0.4", linestyle="--", linewidth=1,
                         label=BASELINE_LABEL)
        axis.set_title(f"{row.title}: {row.metric}", fontsize="medium")
        axis.set_xticks(table.rounds)
        axis.set_ylim(0, 100)
        axis.set_xlabel("perception round")
        axis.set_ylabel("%")
    for axis in list(axes.flat)[len(table.rows):]:
        axis.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize="small", frameon=False)
    figure.tight_layout(rect=(0, 0.7 / (3.0 * lines + 0.7), 1, 1))
    return _save(figure, path, layout=False)


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


def _save(figure, path: str | os.PathLike, *, layout: bool = True) -> Path:
    path = Path(path)
    if layout:
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
