"""The files an evaluation derives from its predictions.jsonl: per-round prediction files that
`videofocus score` reads, their metrics, a markdown table, a plot of each metric against rounds, and
the costs (the only file with timings in it).

The prediction after round k is round k's parse; a sample whose loop stopped early at round j < k
keeps round j's parse. Round files use the parsed form (boxes already in original pixels, tracks in
the units the prompt asked for); a failed sample is `{"id", "error"}` and scores as wrong.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

from videofocus.evaluate.manifest import write_json  # noqa: E402
from videofocus.metrics import ScoreReport, score_predictions  # noqa: E402
from videofocus.perception import PerceptionResult  # noqa: E402
from videofocus.predictions import load_predictions  # noqa: E402
from videofocus.schema import Sample  # noqa: E402
from videofocus.storage import atomic_writer  # noqa: E402
from videofocus.uncertainty import jackknife_standard_errors, summary_with_errors  # noqa: E402

METRICS_FILE = "metrics.json"
RESULTS_FILE = "results.md"
PLOT_FILE = "metrics_vs_rounds.png"
TIMING_FILE = "timing.json"
SAMPLES_FILE = "samples.jsonl"


def round_predictions_file(round_number: int) -> str:
    return f"predictions_round{round_number}.jsonl"


@dataclass(frozen=True)
class Failure:
    """A sample the run could not evaluate, and why."""

    id: str
    error: str


def round_prediction(line: Mapping[str, Any], round_number: int) -> dict[str, Any]:
    """One predictions.jsonl line as the round-`round_number` line of a score-ready prediction file."""
    if line.get("error") is not None:
        return {"id": line["id"], "error": line["error"]}
    result = PerceptionResult.from_dict(dict(line))
    return replace(result, rounds=result.rounds[:round_number]).prediction()


def write_round_predictions(folder: Path, lines: Sequence[Mapping[str, Any]], rounds: Sequence[int]) -> dict[int, Path]:
    """predictions_round{k}.jsonl for each k of `rounds`, lines in the order of `lines`."""
    paths = {}
    for number in rounds:
        paths[number] = folder / round_predictions_file(number)
        with atomic_writer(paths[number]) as handle:
            handle.writelines(json.dumps(round_prediction(line, number), ensure_ascii=False) + "\n" for line in lines)
    return paths


def score_round_files(benchmark: str, samples: Sequence[Sample], paths: Mapping[int, Path], *,
                      track_units: str, annotations: str | os.PathLike) -> dict[int, ScoreReport]:
    """Each round file scored exactly as `videofocus score` scores it."""
    known = {sample.id for sample in samples}
    return {number: score_predictions(benchmark, samples, load_predictions(path, known_ids=known, strict=True),
                                      track_units=track_units, annotations=annotations)
            for number, path in paths.items()}


def failures(lines: Sequence[Mapping[str, Any]]) -> list[Failure]:
    return [Failure(line["id"], line["error"]) for line in lines if line.get("error") is not None]


def write_metrics(folder: Path, reports: Mapping[int, ScoreReport], *, track_units: str,
                  failed: Sequence[Failure]) -> Path:
    """metrics.json: per round, what `videofocus score --json` prints for that round's file, and each
    metric's jackknife standard error (`videofocus.uncertainty`)."""
    first = next(iter(reports.values()))
    data = {"benchmark": first.benchmark, "n": first.n, "track_units": track_units,
            "rounds": {str(number): summary_with_errors(report) for number, report in reports.items()},
            "failed": [{"id": failure.id, "error": failure.error} for failure in failed]}
    path = folder / METRICS_FILE
    with atomic_writer(path) as handle:
        write_json(handle, data)
    return path


def write_results_markdown(folder: Path, reports: Mapping[int, ScoreReport], manifest: Mapping[str, Any],
                           lines: Sequence[Mapping[str, Any]], failed: Sequence[Failure]) -> Path:
    """results.md: how the run was made, one table row per round, the score command, the failures."""
    first = next(iter(reports.values()))
    names = list(first.metrics)
    settings = manifest["settings"]
    perception = settings["perception"]
    frames = (f"{perception['num_frames']} frames" if perception["num_frames"] is not None else
              f"{perception['fps']:g} fps, {perception['min_frames']}-{perception['max_frames']} frames")
    model = manifest["model"].get("name") or manifest["generation"].get("backend")
    text = [
        f"# {first.benchmark}: {model}", "",
        f"- samples: {first.n} from `{manifest['annotations']['path']}` (failed: {len(failed)})",
        f"- rounds reported: {', '.join(map(str, settings['rounds']))} (the loop ran {perception['rounds']}; "
        f"{_early_stop_note(lines)})",
        f"- video: {frames}, key ratio {perception['key_ratio']:g}; protocol `{perception['protocol']}`; "
        f"carry history: {perception['carry_history']}; early stop: {perception['early_stop']}",
        f"- seed {settings['seed']}, batch size {settings['batch_size']}; full settings in run.json", "",
        "| round | " + " | ".join(names) + " |",
        "| ---: | " + " | ".join("---:" for _ in names) + " |",
        *(f"| {number} | " + " | ".join(_with_error(report, errors, name) for name in names) + " |"
          for number, report, errors in _with_errors(reports)),
        "", "Values in % ± one standard error (jackknife over samples). Re-score a round with:", "",
        f"    {score_command(first.benchmark, settings['track_units'], round_predictions_file(max(reports)))}",
    ]
    if failed:
        text += ["", "## Failed samples (scored as wrong)", "",
                 *(f"- `{failure.id}`: {failure.error}" for failure in failed)]
    path = folder / RESULTS_FILE
    with atomic_writer(path) as handle:
        handle.write("\n".join(text) + "\n")
    return path


def _with_errors(reports: Mapping[int, ScoreReport]):
    return [(number, report, jackknife_standard_errors(report)) for number, report in reports.items()]


def _with_error(report: ScoreReport, errors: Mapping[str, float], name: str) -> str:
    return f"{report.metrics[name]:.2f} ± {errors[name]:.2f}"


def score_command(benchmark: str, track_units: str, predictions: str) -> str:
    """The `videofocus score` call, run inside the output folder, that reproduces a round's metrics."""
    units = f" --track-units {track_units}" if benchmark == "got10k" else ""
    return (f"videofocus score --benchmark {benchmark} --predictions {predictions} "
            f"--annotations {SAMPLES_FILE}{units}")


def plot_metrics_vs_rounds(folder: Path, reports: Mapping[int, ScoreReport]) -> Path:
    """metrics_vs_rounds.png: each metric (%) against the round number."""
    rounds = list(reports)
    first = next(iter(reports.values()))
    figure, axes = plt.subplots(figsize=(6, 4))
    for name in first.metrics:
        axes.plot(rounds, [reports[number].metrics[name] for number in rounds], marker="o", label=name)
    axes.set_xticks(rounds)
    axes.set_xlabel("perception round")
    axes.set_ylabel("%")
    axes.set_title(f"{first.benchmark} ({first.n} samples)")
    axes.legend(fontsize="small")
    figure.tight_layout()
    path = folder / PLOT_FILE
    with atomic_writer(path, "wb") as handle:
        figure.savefig(handle, format="png", dpi=100, metadata={"Software": None})
    plt.close(figure)
    return path


def write_timing(folder: Path, lines: Sequence[Mapping[str, Any]], rounds: Sequence[int],
                 invocation: Mapping[str, Any]) -> Path:
    """timing.json: mean cost per sample to reach each reported round's answer (seconds, frames,
    visual tokens; successful samples), and this invocation's wall time and throughput."""
    results = [PerceptionResult.from_dict(dict(line)) for line in lines if line.get("error") is None]
    per_round = {}
    for number in rounds:
        costs = [[round_.cost for round_ in result.rounds[:number]] for result in results]
        per_round[str(number)] = {
            "seconds_per_sample": _mean([sum(cost.seconds for cost in sample) for sample in costs]),
            "frames_per_sample": _mean([sum(cost.frames for cost in sample) for sample in costs]),
            "visual_tokens_per_sample": _mean([sum(cost.visual_tokens for cost in sample) for sample in costs]),
        }
    path = folder / TIMING_FILE
    with atomic_writer(path) as handle:
        write_json(handle, {"cumulative_cost_to_round": per_round, "invocation": dict(invocation)})
    return path


def _early_stop_note(lines: Sequence[Mapping[str, Any]]) -> str:
    stopped = sum(line.get("stop_reason") == "converged" for line in lines)
    if not stopped:
        return "no sample stopped early"
    return f"{stopped} sample(s) stopped early; their last round carries over to later rounds"


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0
