"""Reading a generated synthetic dataset back from its files: decoded frames with their PTS times,
the scene records, and what the pixels show (colour, presence, shape) -- independent of the
generator's own bookkeeping."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
from PIL import Image

from videofocus.data.synth import PALETTE, SCENES_FILE, Scene
from videofocus.schema import Sample, read_samples

COLOURS = {**PALETTE, "grey": (128, 128, 128)}


def load_dataset(directory: Path) -> list[tuple[Sample, dict]]:
    """Each sample of samples.jsonl with its scenes.jsonl record (same order, same id)."""
    samples = list(read_samples(directory / "samples.jsonl"))
    records = [json.loads(line) for line in (directory / SCENES_FILE).read_text().splitlines()]
    assert [sample.id for sample in samples] == [record["id"] for record in records]
    return list(zip(samples, records, strict=True))


def decode_video(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """All frames (T, H, W, 3) RGB and their times in seconds from the first frame (from PTS)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        decoded = [(float(frame.pts * stream.time_base), frame.to_ndarray(format="rgb24"))
                   for frame in container.decode(stream)]
    decoded.sort(key=lambda item: item[0])
    times = np.array([time for time, _ in decoded])
    return np.stack([frame for _, frame in decoded]), times - times[0]


def load_image(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def nearest_colour(rgb) -> str:
    rgb = np.asarray(rgb, dtype=np.float64)
    return min(COLOURS, key=lambda name: float(np.sum((rgb - COLOURS[name]) ** 2)))


def core_region(box) -> tuple[slice, slice]:
    """Rows and columns of pixels inside every shape drawn in `box` (centre-low part of the box)."""
    x0, y0, x1, y1 = (int(value) for value in box)
    size = x1 - x0
    offsets = (np.arange(size) + 0.5) / size
    cols = np.flatnonzero((offsets >= 0.35) & (offsets <= 0.65))
    rows = np.flatnonzero((offsets >= 0.55) & (offsets <= 0.85))
    return slice(y0 + rows[0], y0 + rows[-1] + 1), slice(x0 + cols[0], x0 + cols[-1] + 1)


def colour_at(frame: np.ndarray, box) -> str:
    """The colour the pixels show in the core of `box` (a palette name or "grey")."""
    rows, cols = core_region(box)
    return nearest_colour(frame[rows, cols].reshape(-1, 3).mean(axis=0))


def runs(flags, times: np.ndarray, duration: float) -> list[tuple[float, float]]:
    """Maximal runs of True frames as [time of first frame, time of the frame after the last)."""
    bounds = np.append(times, duration)
    result, start = [], None
    for index, flag in enumerate(list(flags) + [False]):
        if flag and start is None:
            start = index
        elif not flag and start is not None:
            result.append((float(bounds[start]), float(bounds[index])))
            start = None
    return result


def visible_runs(frames: np.ndarray, times: np.ndarray, duration: float, boxes, colours) -> list[tuple[float, float]]:
    """When the object drawn in boxes[i] (one box per frame) shows one of `colours`."""
    return runs([colour_at(frame, box) in colours for frame, box in zip(frames, boxes, strict=True)], times, duration)


def fill_ratio(frame: np.ndarray, box, colour: str) -> float:
    """Share of the box's pixels that show `colour` (square ~1, circle ~0.8, triangle ~0.55)."""
    x0, y0, x1, y1 = (int(value) for value in box)
    pixels = frame[y0:y1, x0:x1].reshape(-1, 3).astype(np.float64)
    distances = ((pixels[:, None, :] - np.array(list(COLOURS.values()))[None]) ** 2).sum(axis=2)
    names = np.array(list(COLOURS))[distances.argmin(axis=1)]
    return float(np.mean(names == colour))


def shape_from_pixels(frame: np.ndarray, box, colour: str) -> str:
    ratio = fill_ratio(frame, box, colour)
    return "square" if ratio > 0.92 else "circle" if ratio > 0.68 else "triangle"


def scene_of(record: dict) -> Scene:
    return Scene.from_json(record["scene"])


def perfect_completion(sample: Sample) -> str:
    """A completion in the canonical protocol that states the sample's own labels (tracking boxes
    normalised to the frame, as the tracking task asks; MCQ needs some clue for the format)."""
    clue = "[(0.00, 1.00)]"
    if sample.clue is not None and sample.clue.intervals:
        clue = "[" + ", ".join(f"({start:.2f}, {end:.2f})" for start, end in sample.clue.intervals) + "]"
    elif sample.clue is not None and sample.clue.boxes:
        clue = str([int(value) for value in sample.clue.boxes[0]])
    elif sample.clue is not None and sample.clue.track:
        scale = np.array([sample.media.width, sample.media.height] * 2, dtype=np.float64)
        clue = str([(np.array(point.box) / scale).tolist() for point in sample.clue.track])
    answer = f"<answer>{sample.answer}</answer>" if sample.answer else ""
    return f"<think>I look.</think><clue>{clue}</clue>{answer}"
