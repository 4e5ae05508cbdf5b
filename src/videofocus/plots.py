"""Pictures of where a model looked and what it pointed at: intervals on a video's timeline, boxes on
an image. The drawing functions take plain rows (label, intervals or boxes), so inference,
evaluation and the demo draw the same way; `timeline_rows` / `box_layers` make the rows of a
perception result, one per round."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.artist import Artist  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch, Rectangle  # noqa: E402
from PIL import Image  # noqa: E402

from videofocus.perception.result import PerceptionResult  # noqa: E402
from videofocus.storage import atomic_writer  # noqa: E402

_COLOURS = plt.get_cmap("tab10").colors
_TRUTH_COLOUR = "black"
_LEGEND_COLOUR = "dimgrey"  # legend marks stand for every round's colour


@dataclass(frozen=True)
class TimelineRow:
    """One line of a timeline: predicted `intervals` (s), the `frames` looked at (s), and the
    `focus` intervals that chose those frames."""

    label: str
    intervals: Sequence[tuple[float, float]] = ()
    frames: Sequence[float] = ()
    focus: Sequence[tuple[float, float]] = ()


@dataclass(frozen=True)
class BoxLayer:
    """One round's boxes on an image (original pixels) and the crops it was shown."""

    label: str
    boxes: Sequence[Sequence[float]] = ()
    crops: Sequence[Sequence[float]] = field(default_factory=tuple)


def timeline_rows(result: PerceptionResult) -> list[TimelineRow]:
    """One row per round of a video result."""
    return [TimelineRow(label=f"round {round_.round}", intervals=round_.intervals or (),
                        frames=round_.view.timestamps, focus=round_.view.focus or ())
            for round_ in result.rounds]


def box_layers(result: PerceptionResult) -> list[BoxLayer]:
    """One layer per round of an image result."""
    return [BoxLayer(label=f"round {round_.round}", boxes=round_.boxes or (), crops=round_.view.crops)
            for round_ in result.rounds]


def result_title(question: str, result: PerceptionResult, *, truth: str | None = None, width: int = 60) -> str:
    """A figure title: the question in quotes (cut to `width` characters with "…"), then the true
    answer when given and each round's answer (option letter or text) when the rounds gave any."""
    shown = question if len(question) <= width else question[:width - 1].rstrip() + "…"
    title = f'"{shown}"' + (f"  truth {truth}," if truth is not None else "")
    answers = [round_.option or round_.answer for round_ in result.rounds]
    if any(answers):
        title += " rounds " + " → ".join(_short(answer) if answer else "?" for answer in answers)
    return title


def _short(answer: str, width: int = 20) -> str:
    answer = "".join(character for character in answer if character.isprintable())  # model output: anything
    return answer if len(answer) <= width else answer[:width - 1].rstrip() + "…"


def plot_timeline(rows: Sequence[TimelineRow], duration: float, path: str | os.PathLike, *,
                  ground_truth: Sequence[tuple[float, float]] = (), title: str | None = None) -> Path:
    """Save `timeline_figure` to `path` (format from the suffix, written atomically)."""
    return save_figure(timeline_figure(rows, duration, ground_truth=ground_truth, title=title), path)


def timeline_figure(rows: Sequence[TimelineRow], duration: float, *,
                    ground_truth: Sequence[tuple[float, float]] = (), title: str | None = None) -> Figure:
    """Each row on the time axis [0, duration], first row on top: the frames looked at as ticks,
    the focus as a light band, the predicted intervals as bars; the ground truth as a black row
    above them all. A legend beside the axes names the kinds of mark. Intervals are drawn only
    within the video: a prediction past its end stops at the end."""
    lines = len(rows) + bool(ground_truth)
    figure, axes = plt.subplots(figsize=(9, 0.6 * lines + 1.2))
    labels = []
    def within(intervals):
        return [(max(start, 0.0), min(end, duration)) for start, end in intervals]

    if ground_truth:
        _bars(axes, within(ground_truth), lines - 1, _TRUTH_COLOUR, height=0.5, label="ground truth")
        labels.append("ground truth")
    for number, row in enumerate(rows):
        y, colour = len(rows) - 1 - number, _COLOURS[number % len(_COLOURS)]
        _bars(axes, within(row.focus), y, colour, height=0.8, alpha=0.15, label=f"{row.label} focus")
        axes.vlines(list(row.frames), y - 0.35, y + 0.35, colors="grey", linewidth=0.6, label=f"{row.label} frames")
        _bars(axes, within(row.intervals), y, colour, height=0.4, alpha=0.9, label=row.label)
        labels.append(row.label)
    axes.set_yticks([lines - 1 - index for index in range(lines)], labels)
    margin = 0.01 * max(duration, 1e-6)
    axes.set_xlim(-margin, max(duration, 1e-6) + margin)
    axes.set_ylim(-0.7, lines - 0.3)
    axes.set_xlabel("time (s)")
    _legend(axes, _timeline_legend(rows, bool(ground_truth)), loc="upper left", bbox_to_anchor=(1.01, 1.0))
    if title:
        axes.set_title(title)
    return figure


def plot_boxes(image: Image.Image, layers: Sequence[BoxLayer], path: str | os.PathLike, *,
               ground_truth: Sequence[Sequence[float]] = (), title: str | None = None) -> Path:
    """Save `boxes_figure` to `path` (format from the suffix, written atomically)."""
    return save_figure(boxes_figure(image, layers, ground_truth=ground_truth, title=title), path)


def boxes_figure(image: Image.Image, layers: Sequence[BoxLayer], *,
                 ground_truth: Sequence[Sequence[float]] = (), title: str | None = None) -> Figure:
    """Each layer's boxes (solid) and crops (dashed) on the image; the ground truth in black; a legend
    names the layers and the crops."""
    figure, axes = plt.subplots(figsize=(8, 8 * image.height / max(image.width, 1)))
    axes.imshow(image)
    for number, layer in enumerate(layers):
        colour = _COLOURS[number % len(_COLOURS)]
        for box in layer.crops:
            _rectangle(axes, box, colour, linestyle="--", linewidth=1, label=f"{layer.label} crop")
        for box in layer.boxes:
            _rectangle(axes, box, colour, linewidth=2, label=layer.label)
    for box in ground_truth:
        _rectangle(axes, box, _TRUTH_COLOUR, linewidth=2, label="ground truth")
    handles = {patch.get_label(): patch for patch in axes.patches if not patch.get_label().endswith("crop")}
    if any(layer.crops for layer in layers):
        handles["crop shown to the model"] = Line2D([], [], color=_LEGEND_COLOUR, linestyle="--", linewidth=1)
    _legend(axes, list(zip(handles.values(), handles.keys())), loc="upper right")
    axes.set_axis_off()
    if title:
        axes.set_title(title)
    return figure


def save_figure(figure: Figure, path: str | os.PathLike) -> Path:
    """Write `figure` to `path` atomically and close it. A character the font lacks (model output can
    hold any) is drawn as a box without a warning per character."""
    path = Path(path)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font", category=UserWarning)
        figure.tight_layout()
        with atomic_writer(path, "wb") as handle:
            figure.savefig(handle, format=path.suffix.lstrip(".").lower() or "png", dpi=120)
    plt.close(figure)
    return path


def _timeline_legend(rows: Sequence[TimelineRow], ground_truth: bool) -> list[tuple[Artist, str]]:
    """Legend entries for the kinds of mark a timeline holds (the rows' colours tell the rounds apart)."""
    kinds = [(any(row.intervals for row in rows), Patch(facecolor=_LEGEND_COLOUR, alpha=0.9), "predicted interval"),
             (any(row.focus for row in rows), Patch(facecolor=_LEGEND_COLOUR, alpha=0.15),
              "focus (frames dense here)"),
             (any(len(row.frames) for row in rows),
              Line2D([], [], color="grey", marker="|", linestyle="none", markersize=10), "frame looked at"),
             (ground_truth, Patch(facecolor=_TRUTH_COLOUR), "ground truth")]
    return [(handle, label) for present, handle, label in kinds if present]


def _legend(axes, entries: list[tuple[Artist, str]], **where) -> None:
    if entries:
        handles, labels = zip(*entries)
        axes.legend(handles, labels, fontsize="small", **where)


def _bars(axes, intervals, y: float, colour, *, height: float, label: str, alpha: float = 1.0) -> None:
    spans = [(start, end - start) for start, end in intervals if end > start]
    if spans:
        axes.broken_barh(spans, (y - height / 2, height), facecolors=colour, alpha=alpha, label=label)


def _rectangle(axes, box, colour, **style) -> None:
    x0, y0, x1, y1 = box
    axes.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor=colour, **style))
