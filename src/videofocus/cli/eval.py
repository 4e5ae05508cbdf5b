"""`videofocus eval`: evaluate a model on a benchmark with iterative perception; resumable, data
parallel under `accelerate launch`, every setting recorded in the output folder's run.json."""

from __future__ import annotations

import shlex
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from videofocus.cli.app import app, console, stop_on_ctrl_c, this_command
from videofocus.cli.model_defaults import model_input_defaults
from videofocus.cli.score import DEFAULT_TRACK_UNITS_OPTION, BenchmarkName, TrackUnitsOption
from videofocus.evaluate import EvalSettings, GenerationSettings, parse_rounds
from videofocus.media.budget import RELEASED_BUDGETS, released_budget
from videofocus.perception import PerceptionOptions

if TYPE_CHECKING:
    from videofocus.evaluate import EvalResult

_PERCEPTION = PerceptionOptions()
_GENERATION = GenerationSettings()
_SAVED = " (default: the model's videofocus.json, else the papers' budget)."


@app.command("eval")
def eval_command(
    context: typer.Context,
    model: str = typer.Option(..., "--model", help="Model directory or Hub id, e.g. Qwen/Qwen2.5-VL-7B-Instruct."),
    benchmark: BenchmarkName = typer.Option(..., "--benchmark", help="Which benchmark's metrics to report."),
    annotations: Path = typer.Option(..., "--annotations", help="Annotation JSONL in the one sample format."),
    media_root: Path | None = typer.Option(None, "--media-root",
                                           help="Folder relative media paths start from (default: the "
                                                "annotation file's folder)."),
    allow_media_outside_root: bool = typer.Option(False, "--allow-media-outside-root",
                                                  help="Let relative media paths lead outside --media-root with '..'."),
    rounds: str = typer.Option("1,2,3", "--rounds", help="Rounds to report, e.g. 1,2,3; the loop runs the largest."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Evaluate only the first N samples."),
    output: Path | None = typer.Option(None, "--output",
                                       help="Output folder (default: eval/<benchmark>-<model name>); rerun "
                                            "with the same arguments to resume."),
    backend: str = typer.Option(_GENERATION.backend, "--backend",
                                help="hf (transformers) or vllm (a single process: not under a multi-process "
                                     "accelerate launch)."),
    num_frames: int | None = typer.Option(None, "--num-frames", min=1,
                                          help="Fixed frame budget of each round (default: the model's "
                                               "videofocus.json when --fps is not given, else --fps)."),
    fps: float | None = typer.Option(None, "--fps", min=0.001,
                                     help=f"Frames per second without --num-frames (default {_PERCEPTION.fps:g})."),
    min_frames: int = typer.Option(_PERCEPTION.min_frames, "--min-frames", min=1),
    max_frames: int = typer.Option(_PERCEPTION.max_frames, "--max-frames", min=1),
    key_ratio: float = typer.Option(_PERCEPTION.key_ratio, "--key-ratio",
                                    help="Share of frames placed inside the clue in rounds 2+."),
    focus_sampling: str | None = typer.Option(None, "--focus-sampling",
                                              help="Rounds 2+: key_ratio (ours) or released (VideoChat-R1.5: clue "
                                                   "frames weigh 1.5, duplicates dropped); default released under "
                                                   "--protocol videochat_r1_5, else key_ratio."),
    protocol: str = typer.Option(_PERCEPTION.protocol, "--protocol",
                                 help="Prompt protocol: videofocus, videochat_r1, videochat_r1_nothink, "
                                      "videochat_r1_5 (docs/protocols.md)."),
    task: str | None = typer.Option(None, "--task", help="Ask every sample with this task's prompt "
                                                         "(default: each sample's own task)."),
    carry_history: bool = typer.Option(_PERCEPTION.carry_history, "--carry-history/--no-carry-history",
                                       help="Quote the previous round in the next prompt."),
    early_stop: bool = typer.Option(_PERCEPTION.early_stop, "--early-stop/--no-early-stop",
                                    help="Stop a sample when its clue and answer stop changing."),
    early_stop_iou: float = typer.Option(_PERCEPTION.early_stop_iou, "--early-stop-iou"),
    batch_size: int = typer.Option(4, "--batch-size", min=1, help="Samples per perception / model call."),
    seed: int = typer.Option(0, "--seed", min=0),
    dtype: str | None = typer.Option(None, "--dtype", help="float32, bfloat16 … (default: bf16 on GPU)."),
    device: str | None = typer.Option(None, "--device", help="cpu, cuda:0 … (default: each process's device)."),
    max_new_tokens: int = typer.Option(_GENERATION.max_new_tokens, "--max-new-tokens", min=1),
    do_sample: bool = typer.Option(_GENERATION.do_sample, "--do-sample/--greedy",
                                   help="Sample completions (each sample seeded by --seed plus its index) instead of "
                                        "greedy decoding."),
    temperature: float = typer.Option(_GENERATION.temperature, "--temperature", min=0.0),
    top_p: float = typer.Option(_GENERATION.top_p, "--top-p", min=0.0, max=1.0),
    video_min_pixels: int | None = typer.Option(None, "--video-min-pixels", min=1,
                                                help="Least pixels of each frame after resizing" + _SAVED),
    video_max_pixels: int | None = typer.Option(None, "--video-max-pixels", min=1,
                                                help="Most pixels of each frame after resizing" + _SAVED),
    video_total_pixels: int | None = typer.Option(None, "--video-total-pixels", min=1,
                                                  help="Pixel budget for all the frames of a clip together "
                                                       "(qwen-vl-utils' total_pixels; default: the model's "
                                                       "videofocus.json, else none)."),
    released: str | None = typer.Option(None, "--released-budget",
                                        help="Use a released script's video budget (total and least pixels per "
                                             "clip, fps 2, its frame cap), overriding --fps/--num-frames/"
                                             "--max-frames and the video pixel options: "
                                             + ", ".join(RELEASED_BUDGETS) + " (docs/protocols.md)."),
    time_positions: str = typer.Option(_GENERATION.time_positions, "--time-positions",
                                       help="Qwen2.5-VL video time positions: mean (one spacing per clip) or "
                                            "exact (each frame pair at its true time; hf backend)."),
    image_min_pixels: int | None = typer.Option(None, "--image-min-pixels", min=1, help="Least pixels of each "
                                                "image after resizing" + _SAVED),
    image_max_pixels: int | None = typer.Option(None, "--image-max-pixels", min=1, help="Most pixels of each "
                                                "image after resizing" + _SAVED),
    track_units: TrackUnitsOption = typer.Option(DEFAULT_TRACK_UNITS_OPTION, "--track-units",
                                                 help="Units of predicted tracking boxes for scoring "
                                                      "(the tracking prompts ask for normalised)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Evaluate a model on a benchmark, reporting metrics after each listed perception round."""
    from videofocus.evaluate import evaluate

    if released is not None:
        budget = released_budget(released)
        num_frames, fps, max_frames = None, budget.fps, budget.max_frames
        video_min_pixels, video_max_pixels, video_total_pixels = budget.min_pixels, budget.max_pixels, \
            budget.total_pixels
    pixels, num_frames = model_input_defaults(model, num_frames=num_frames, fps=fps, video_min_pixels=video_min_pixels,
                                              video_max_pixels=video_max_pixels, video_total_pixels=video_total_pixels,
                                              image_min_pixels=image_min_pixels, image_max_pixels=image_max_pixels)
    perception = PerceptionOptions(num_frames=num_frames, fps=fps or _PERCEPTION.fps, min_frames=min_frames,
                                   max_frames=max_frames,
                                   key_ratio=key_ratio, carry_history=carry_history, early_stop=early_stop,
                                   early_stop_iou=early_stop_iou, protocol=protocol, task=task,
                                   focus_sampling=focus_sampling)
    generation = GenerationSettings(backend=backend, dtype=dtype, max_new_tokens=max_new_tokens, do_sample=do_sample,
                                    temperature=temperature, top_p=top_p, time_positions=time_positions, **pixels)
    settings = EvalSettings(benchmark=benchmark.value, rounds=parse_rounds(rounds), perception=perception,
                            limit=limit, batch_size=batch_size, seed=seed, track_units=track_units.value,
                            generation=generation)
    folder = output or Path("eval") / f"{benchmark.value}-{Path(model).name}"
    with stop_on_ctrl_c(lambda: _where_eval_stopped(folder)):
        result = evaluate(annotations, folder, settings, model=model, media_root=media_root, device=device,
                          progress=progress, command=_command_line(context),
                          allow_media_outside_root=allow_media_outside_root)
    if result is not None:
        _print_result(result)


def _where_eval_stopped(folder: Path) -> str:
    from videofocus.evaluate.store import PredictionStore

    done = len(PredictionStore(folder).lines())
    return (f"{done} sample(s) evaluated so far are kept in {folder}; to go on from there, run the same "
            f"command again: {this_command()}")


def _command_line(context: typer.Context) -> str:
    """This call spelled out with every option's value, defaults included, as run.json records it."""
    words = ["videofocus", context.info_name or "eval"]
    for param in context.command.params:
        value = context.params.get(param.name)
        if value is None:
            continue
        if getattr(param, "is_flag", False) and param.secondary_opts:
            words.append(param.opts[0] if value else param.secondary_opts[0])
        else:
            words += [param.opts[0], str(value.value if isinstance(value, Enum) else value)]
    return shlex.join(words)


def _print_result(result: EvalResult) -> None:
    from videofocus.uncertainty import jackknife_standard_errors

    first = next(iter(result.reports.values()))
    table = Table(title=f"{first.benchmark}: {first.n} samples, {len(result.failures)} failed "
                        f"({result.evaluated_now} evaluated now)",
                  caption="% ± one standard error (jackknife over samples)", caption_justify="left")
    table.add_column("round", justify="right")
    for name in first.metrics:
        table.add_column(name, justify="right")
    for number, score in result.reports.items():
        errors = jackknife_standard_errors(score)
        table.add_row(str(number), *(f"{value:.2f} ± {errors[name]:.2f}" for name, value in score.metrics.items()))
    console.print(table)
    for failure in result.failures:
        console.print(f"[yellow]failed[/] {failure.id}: {failure.error}", highlight=False, soft_wrap=True)
    console.print(f"results in {result.output_dir} (results.md, metrics.json, run.json)", highlight=False)
