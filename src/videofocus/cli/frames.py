"""`videofocus frames`: which frames of a video the model would see, at what true times."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from videofocus.cli.app import app, console, err_console
from videofocus.errors import MediaError
from videofocus.media.budget import IMAGE_FACTOR, VIDEO_MAX_PIXELS, VIDEO_MIN_PIXELS, PixelBudget, clip_frame_size
from videofocus.media.image import smart_resize

if TYPE_CHECKING:
    import numpy as np

    from videofocus.media.video import VideoInfo

_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*-\s*(\d+(?:\.\d*)?|\.\d+)\s*$")
_SHEET_THUMB_WIDTH = 256


def _parse_focus(values: list[str] | None) -> list[tuple[float, float]]:
    intervals = []
    for value in values or []:
        match = _INTERVAL.match(value)
        if not match:
            raise typer.BadParameter(f"{value!r} is not START-END in seconds, e.g. 12.5-17.0",
                                     param_hint="--focus")
        intervals.append((float(match[1]), float(match[2])))
    return intervals


@app.command()
def frames(
    video: Path = typer.Argument(..., help="Video file (anything FFmpeg reads: mp4, mkv, webm, mov ...)."),
    num_frames: int = typer.Option(16, "--num-frames", "-n",
                                   help="Frames to sample uniformly over the whole video."),
    fps: float | None = typer.Option(None, "--fps",
                                     help="Sample this many frames per second instead of --num-frames "
                                          "(Qwen rule: clamped to --min-frames/--max-frames, even count)."),
    min_frames: int = typer.Option(4, "--min-frames", help="Fewest frames with --fps."),
    max_frames: int = typer.Option(768, "--max-frames", help="Most frames with --fps."),
    focus: list[str] | None = typer.Option(None, "--focus",
                                           help="Clue interval START-END in seconds (repeatable): show the "
                                                "frames iterative perception shows in round 2 after a round 1 "
                                                "of the frames above with this clue (same budget, denser "
                                                "inside the clue)."),
    key_ratio: float = typer.Option(0.5, "--key-ratio", help="Share of the frames inside --focus "
                                                                "(--sampling key_ratio)."),
    sampling: str = typer.Option("key_ratio", "--sampling",
                                 help="How round 2 places the frames: key_ratio (ours, reusable pairs) or "
                                      "released (VideoChat-R1.5: clue frames weigh 1.5, duplicates dropped); "
                                      "as `videofocus eval/infer` under the protocol."),
    as_json: bool = typer.Option(False, "--json",
                                 help='Print {"duration", "fps", "width", "height", "timestamps"} as JSON.'),
    sheet: str | None = typer.Option(None, "--sheet",
                                     help="Also write a contact sheet PNG of the sampled frames, each "
                                          "labelled with its time."),
    video_min_pixels: int = typer.Option(VIDEO_MIN_PIXELS, "--video-min-pixels", min=1,
                                         help="Least pixels of each frame after resizing (as videofocus eval)."),
    video_max_pixels: int = typer.Option(VIDEO_MAX_PIXELS, "--video-max-pixels", min=1,
                                         help="Most pixels of each frame after resizing (as videofocus eval)."),
    video_total_pixels: int | None = typer.Option(None, "--video-total-pixels", min=1,
                                                  help="Pixel budget for all the frames together (as videofocus "
                                                       "eval): more frames, smaller ones."),
    patch_factor: int = typer.Option(IMAGE_FACTOR, "--patch-factor", min=1,
                                     help="Frame sides become multiples of this: patch size x spatial merge, "
                                          "28 for Qwen2.5-VL, 32 for Qwen3-VL."),
) -> None:
    """Show which frames the model would see, with their true timestamps (from the video's PTS).

    Examples: `videofocus frames clip.mp4 -n 16`, `videofocus frames clip.mp4 --fps 2 --json`,
    `videofocus frames clip.mp4 -n 32 --focus 12.5-17.0 --key-ratio 0.5 --sheet sheet.png`."""
    from videofocus.media.sheet import contact_sheet
    from videofocus.media.video import probe, read_frames
    from videofocus.perception.options import FOCUS_SAMPLING
    from videofocus.perception.views import first_round_indices

    intervals = _parse_focus(focus)
    if sampling not in FOCUS_SAMPLING:
        raise typer.BadParameter(f"choose one of {', '.join(FOCUS_SAMPLING)}", param_hint="--sampling")
    info = probe(video)
    indices = first_round_indices(info, None if fps is not None else num_frames, fps or 2.0, min_frames, max_frames)
    if intervals:
        indices = _round_two(info, indices, intervals, sampling, key_ratio)
    if as_json:
        print(json.dumps({"duration": info.duration, "fps": info.fps, "width": info.width,
                          "height": info.height, "timestamps": info.frame_times[indices].tolist()}))
    else:
        model_size = _model_frame_size(info, len(indices), min_pixels=video_min_pixels, max_pixels=video_max_pixels,
                                       total_pixels=video_total_pixels, factor=patch_factor)
        _print_table(info, indices, intervals, model_size)
    if sheet is not None:
        clip = read_frames(info, indices, size=_thumb_size(info))
        written = contact_sheet(clip, sheet, thumb_width=_SHEET_THUMB_WIDTH)
        (err_console if as_json else console).print(f"wrote contact sheet {written}")


def _round_two(info: VideoInfo, first_round: np.ndarray, intervals: list[tuple[float, float]], sampling: str,
               key_ratio: float) -> np.ndarray:
    """The perception loop's round 2 for this clue (`perception.views.refocus`). MediaError when the
    loop could not focus (it would show round 1's frames again); a note when the clue holds fewer
    frames than the share asked for."""
    from videofocus.media.sampling import clue_mask
    from videofocus.perception.views import refocus

    focused = refocus(info, first_round, first_round, intervals, mode=sampling, key_ratio=key_ratio)
    if focused.fallback is not None:
        raise MediaError(f"{info.path}: cannot focus: {focused.fallback}; the perception loop would show the "
                         "round-1 frames again")
    shown_inside = int(clue_mask(info, list(focused.focus))[focused.indices].sum())
    if sampling == "key_ratio" and shown_inside < round(key_ratio * len(first_round)):
        err_console.print(f"note: --key-ratio {key_ratio:g} asks for {round(key_ratio * len(first_round))} frames "
                          f"inside the clue; it is shown by {shown_inside}, the rest go outside it")
    if len(focused.indices) < len(first_round):
        err_console.print(f"note: {len(focused.indices)} of {len(first_round)} frames: the released rule drops "
                          "duplicate frames")
    return focused.indices


def _model_frame_size(info: VideoInfo, num_frames: int, *, min_pixels: int, max_pixels: int,
                      total_pixels: int | None, factor: int) -> tuple[int, int]:
    """(height, width) of each of `num_frames` frames as encode_prompts resizes them: by the per-frame
    limits, or under `total_pixels` by the budget rule for the count padded to whole pairs."""
    if total_pixels is None:
        return smart_resize(info.height, info.width, factor, min_pixels, max_pixels)
    budget = PixelBudget(min_pixels, max_pixels, total_pixels, factor)
    return clip_frame_size(info.height, info.width, num_frames, budget)


def _print_table(info: VideoInfo, indices: np.ndarray, intervals: list[tuple[float, float]],
                 model_size: tuple[int, int]) -> None:
    """`model_size` (height, width): each frame as the model gets it (encode_prompts' resize)."""
    from videofocus.media.sampling import clue_mask

    model_h, model_w = model_size
    rotated = f", rotated {info.rotation}°" if info.rotation else ""
    console.print(f"[bold]{info.path}[/]: {info.duration:.2f}s, {info.num_frames} frames at "
                  f"{info.fps:.3f} fps, {info.width}x{info.height}{rotated}", highlight=False, soft_wrap=True)
    console.print(f"{len(indices)} frames; the model sees each at {model_w}x{model_h} "
                  "(resized as videofocus eval does)", highlight=False, soft_wrap=True)
    table = Table()
    table.add_column("#", justify="right")
    table.add_column("frame", justify="right")
    table.add_column("time (s)", justify="right")
    in_focus = clue_mask(info, intervals) if intervals else None
    if in_focus is not None:
        table.add_column("in focus")
    for position, index in enumerate(indices.tolist()):
        row = [str(position), str(index), f"{info.frame_times[index]:.3f}"]
        if in_focus is not None:
            row.append("yes" if in_focus[index] else "")
        table.add_row(*row)
    console.print(table)


def _thumb_size(info: VideoInfo) -> tuple[int, int] | None:
    if info.width <= _SHEET_THUMB_WIDTH:
        return None
    return max(1, round(info.height * _SHEET_THUMB_WIDTH / info.width)), _SHEET_THUMB_WIDTH
