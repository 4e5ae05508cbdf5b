"""`videofocus infer`: ask a model about one video or image with iterative perception."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table
from typer.core import TyperCommand

from videofocus.cli.app import app, console
from videofocus.cli.model_defaults import model_input_defaults
from videofocus.errors import ConfigError
from videofocus.perception import PerceptionOptions, PerceptionResult, RoundResult

if TYPE_CHECKING:
    from videofocus.schema import Sample

# "A. text", "(B) text", "C) text" → the option text; the letters follow from the order.
_OPTION_LABEL = re.compile(r"^\s*\(?[A-Z]\s*[.)]\s+")
_OPTIONS_FLAGS = ("--options", "--option")

# Shown after the options; click keeps "\b" paragraphs as written.
_EXAMPLES = """\b
Examples:
  videofocus infer --model Qwen/Qwen2.5-VL-7B-Instruct --video clip.mp4 \\
      --question "the person opens the door" --plot rounds.png
  videofocus infer --model Qwen/Qwen2.5-VL-7B-Instruct --video clip.mp4 \\
      --question "What colour is the car?" \\
      --options "A. red" "B. blue" "C. green"
  videofocus infer --model Qwen/Qwen2.5-VL-7B-Instruct --image photo.jpg \\
      --question "the red car" --rounds 2"""


class _InferCommand(TyperCommand):
    """Lets `--options` take several values, as users type them (`--options "A. red" "B. blue"`):
    click options take one value each, so each value after the first gets its own `--options`."""

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        return super().parse_args(ctx, _one_flag_per_option(args))


def _one_flag_per_option(args: list[str]) -> list[str]:
    """`args` with `--options` put before every bare word that follows an `--options` value. The
    command takes no positional arguments, so such a word can only be one more option; a word that
    starts with "-" ends the run (give such an option with its own `--options`)."""
    spread: list[str] = []
    expects_value = in_options = False
    for position, arg in enumerate(args):
        if arg == "--":
            return spread + args[position:]
        if expects_value:
            expects_value, in_options = False, True
        elif arg in _OPTIONS_FLAGS:
            expects_value = True
        elif in_options and not arg.startswith("-"):
            spread.append(_OPTIONS_FLAGS[0])
        else:
            in_options = arg.startswith(tuple(flag + "=" for flag in _OPTIONS_FLAGS))
        spread.append(arg)
    return spread


@app.command(cls=_InferCommand, epilog=_EXAMPLES)
def infer(
    model: str = typer.Option(..., "--model", help="Model directory or Hub id, e.g. Qwen/Qwen2.5-VL-7B-Instruct."),
    video: Path | None = typer.Option(None, "--video", help="The video to ask about."),
    image: Path | None = typer.Option(None, "--image", help="The image to ask about (instead of --video)."),
    question: str = typer.Option(..., "--question", help="The question, or the event to ground."),
    options: list[str] | None = typer.Option(
        None, *_OPTIONS_FLAGS, help='The answer options, in order: --options "A. red" "B. blue" (or repeat '
                                    '--options); the letters are optional.'),
    task: str | None = typer.Option(
        None, "--task", help="Task whose prompt to use (default: grounded_qa / temporal_grounding for a "
                             "video with / without options, mcq / spatial_grounding for an image)."),
    rounds: int = typer.Option(3, "--rounds", min=1, help="Perception rounds."),
    num_frames: int | None = typer.Option(None, "--num-frames", min=1,
                                          help="Fixed frame budget of each round (default: the model's "
                                               "videofocus.json when --fps is not given, else --fps)."),
    fps: float | None = typer.Option(None, "--fps", min=0.001,
                                     help="Frames per second sampled when --num-frames is not set (default 2)."),
    max_frames: int = typer.Option(768, "--max-frames", min=1, help="Most frames --fps may take."),
    key_ratio: float = typer.Option(0.5, "--key-ratio", help="Share of frames placed inside the clue in rounds 2+."),
    focus_sampling: str | None = typer.Option(None, "--focus-sampling",
                                              help="Rounds 2+: key_ratio or released (VideoChat-R1.5's rule); "
                                                   "default released under --protocol videochat_r1_5."),
    carry_history: bool = typer.Option(False, "--carry-history", help="Quote the previous round in the prompt."),
    early_stop: bool = typer.Option(False, "--early-stop", help="Stop when clue and answer stop changing."),
    protocol: str = typer.Option("videofocus", "--protocol", help="Prompt protocol: videofocus, videochat_r1, "
                                                                 "videochat_r1_nothink, videochat_r1_5 "
                                                                 "(docs/protocols.md)."),
    max_new_tokens: int = typer.Option(1024, "--max-new-tokens", min=1),
    min_pixels: int | None = typer.Option(None, "--min-pixels", min=1,
                                          help="Fewest pixels per frame / image (default: the model's "
                                               "videofocus.json, else 128·28·28 / 4·28·28)."),
    max_pixels: int | None = typer.Option(None, "--max-pixels", min=1,
                                          help="Most pixels per frame / image (default: the model's "
                                               "videofocus.json, else 768·28·28)."),
    total_pixels: int | None = typer.Option(None, "--total-pixels", min=1,
                                            help="Pixel budget for all the video's frames together "
                                                 "(qwen-vl-utils' total_pixels; default: the model's "
                                                 "videofocus.json, else none)."),
    time_positions: str = typer.Option("mean", "--time-positions",
                                       help="Qwen2.5-VL video time positions: mean (one spacing per clip) or "
                                            "exact (each frame pair at its true time)."),
    device: str | None = typer.Option(None, "--device", help="cpu, cuda, cuda:1 … (default: cuda when present)."),
    dtype: str | None = typer.Option(None, "--dtype", help="float32, bfloat16 … (default: bf16 on GPU)."),
    json_output: bool = typer.Option(False, "--json", help="Print the full result as JSON instead of a table."),
    plot: Path | None = typer.Option(None, "--plot", help="Draw the rounds (timeline or boxes) into this image file."),
) -> None:
    """Answer a question about a video or an image, re-looking where the model points (ITP)."""
    from videofocus.backends.hf import HFBackend
    from videofocus.perception import perceive

    sample = _sample(video, image, question, options, task)
    pixels, num_frames = model_input_defaults(model, num_frames=num_frames, fps=fps, video_min_pixels=min_pixels,
                                              image_min_pixels=min_pixels, video_max_pixels=max_pixels,
                                              image_max_pixels=max_pixels, video_total_pixels=total_pixels)
    perception = PerceptionOptions(rounds=rounds, num_frames=num_frames, fps=fps or 2.0, max_frames=max_frames,
                                   min_frames=min(4, max_frames), key_ratio=key_ratio, carry_history=carry_history,
                                   early_stop=early_stop, protocol=protocol, focus_sampling=focus_sampling)
    backend = HFBackend.from_pretrained(model, dtype=dtype, device=device, max_new_tokens=max_new_tokens,
                                        time_positions=time_positions, **pixels)
    result = perceive(sample, backend, perception)
    if json_output:
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        console.print(_rounds_table(result))
    if plot is not None:
        _plot(result, sample, plot)
        if not json_output:
            console.print(f"plot written to {plot}")


def _sample(video: Path | None, image: Path | None, question: str, options: list[str] | None,
            task: str | None) -> Sample:
    """The one-off sample the command asks about (media size and duration filled in for the prompt)."""
    from videofocus.perception.questions import question_sample

    if (video is None) == (image is None):
        raise ConfigError("give exactly one of --video and --image")
    texts = [_OPTION_LABEL.sub("", option).strip() for option in options or []] or None
    return question_sample(video or image, "video" if video is not None else "image", question, options=texts,
                           task=task, sample_id="infer")


def _rounds_table(result: PerceptionResult) -> Table:
    table = Table(title=f"{result.task} · {len(result.rounds)} round(s) · {result.seconds:.2f} s"
                        + (" · stopped early" if result.stop_reason == "converged" else ""))
    for column in ("round", "looked at", "clue", "answer", "time (s)", "note"):
        table.add_column(column, overflow="fold")
    for round_ in result.rounds:
        cost = round_.cost
        time_text = "reused" if cost.reused else f"{cost.seconds:.2f}"
        table.add_row(str(round_.round), _looked_at(round_), _clue(round_), _answer(round_), time_text,
                      round_.fallback or "")
    return table


def _looked_at(round_: RoundResult) -> str:
    view = round_.view
    if view.media_type == "video":
        where = "uniform" if not view.focus else "dense in " + ", ".join(f"{s:.1f}-{e:.1f} s" for s, e in view.focus)
        return f"{len(view.frame_indices)} frames, {where}"
    return "full image" + (f" + {len(view.crops)} crop(s)" if view.crops else "")


def _clue(round_: RoundResult) -> str:
    if round_.intervals:
        return ", ".join(f"{start:.2f}-{end:.2f} s" for start, end in round_.intervals)
    if round_.boxes:
        return ", ".join("[" + ", ".join(f"{value:.0f}" for value in box) + "]" for box in round_.boxes)
    return "-"


def _answer(round_: RoundResult) -> str:
    text = round_.option or round_.answer or "-"
    return text if len(text) <= 80 else text[:77] + "..."


def _plot(result: PerceptionResult, sample: Sample, path: Path) -> None:
    from videofocus.media.image import load_image
    from videofocus.plots import box_layers, plot_boxes, plot_timeline, result_title, timeline_rows

    title = result_title(sample.question, result)
    if result.media_type == "video":
        plot_timeline(timeline_rows(result), sample.media.duration or 0.0, path, title=title)
    else:
        plot_boxes(load_image(sample.media.path), box_layers(result), path, title=title)
