"""The synthetic world: coloured shapes on a noisy grey background, described exactly.

Time is counted in frames: an object is visible in the frames of its spans, each a half-open
range [start, end) of frame indices, i.e. from start / fps to end / fps seconds. Space is counted in
whole pixels: an object's box is [x, y, x + size, y + size] in pixel-edge coordinates, and its
rendered shape touches all four sides of that box (see render.py). So every label derived from a
Scene is exact with respect to the rendered pixels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

# Saturated colours that stay apart after yuv420p chroma subsampling.
PALETTE: dict[str, tuple[int, int, int]] = {
    "red": (230, 30, 30),
    "green": (30, 190, 40),
    "blue": (40, 70, 240),
    "yellow": (240, 220, 30),
    "magenta": (220, 40, 220),
    "cyan": (30, 220, 230),
}
SHAPES = ("circle", "square", "triangle")

Span = tuple[int, int]


@dataclass(frozen=True)
class SceneObject:
    """One shape. `waypoints` are top-left corners at evenly spaced frames (one = static);
    `recolours` are (start, end, colour) frame ranges in which it shows another colour."""

    shape: str
    colour: str
    size: int
    spans: tuple[Span, ...]
    waypoints: tuple[tuple[int, int], ...]
    recolours: tuple[tuple[int, int, str], ...] = ()

    @property
    def description(self) -> str:
        return f"{self.colour} {self.shape}"

    def visibility(self, num_frames: int) -> np.ndarray:
        """(T,) bool: visible in each frame."""
        visible = np.zeros(num_frames, dtype=bool)
        for start, end in self.spans:
            visible[start:end] = True
        return visible

    def corners(self, num_frames: int) -> np.ndarray:
        """(T, 2) int64 top-left (x, y) in each frame, linear between waypoints."""
        points = np.asarray(self.waypoints, dtype=np.float64)
        if len(points) == 1 or num_frames == 1:
            return np.repeat(points[:1].round().astype(np.int64), num_frames, axis=0)
        keys = np.linspace(0, num_frames - 1, len(points))
        frames = np.arange(num_frames)
        xs = np.interp(frames, keys, points[:, 0])
        ys = np.interp(frames, keys, points[:, 1])
        return np.stack([xs, ys], axis=1).round().astype(np.int64)

    def boxes(self, num_frames: int) -> np.ndarray:
        """(T, 4) int64 [x0, y0, x1, y1] in each frame (also where it is not visible)."""
        corners = self.corners(num_frames)
        return np.concatenate([corners, corners + self.size], axis=1)

    def colour_names(self, num_frames: int) -> list[str]:
        names = [self.colour] * num_frames
        for start, end, colour in self.recolours:
            names[start:end] = [colour] * (end - start)
        return names

    def to_json(self) -> dict[str, Any]:
        return {"shape": self.shape, "colour": self.colour, "size": self.size,
                "spans": [list(span) for span in self.spans],
                "waypoints": [list(point) for point in self.waypoints],
                "recolours": [list(recolour) for recolour in self.recolours]}

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> SceneObject:
        return cls(shape=record["shape"], colour=record["colour"], size=int(record["size"]),
                   spans=tuple((int(a), int(b)) for a, b in record["spans"]),
                   waypoints=tuple((int(x), int(y)) for x, y in record["waypoints"]),
                   recolours=tuple((int(a), int(b), str(c)) for a, b, c in record.get("recolours", [])))


@dataclass(frozen=True)
class Scene:
    """Everything needed to render a video (num_frames > 1) or an image (num_frames == 1).
    Objects are drawn in order, later ones on top."""

    width: int
    height: int
    num_frames: int
    fps: float
    objects: tuple[SceneObject, ...]
    noise_seed: int
    background: int = 128
    noise: float = 12.0
    fresh_noise: bool = False

    @property
    def duration(self) -> float:
        return self.num_frames / self.fps

    def seconds(self, span: Span) -> tuple[float, float]:
        """A frame range [start, end) as an interval in seconds."""
        return (span[0] / self.fps, span[1] / self.fps)

    def frame_times(self) -> np.ndarray:
        return np.arange(self.num_frames) / self.fps

    def to_json(self) -> dict[str, Any]:
        return {"width": self.width, "height": self.height, "num_frames": self.num_frames, "fps": self.fps,
                "background": self.background, "noise": self.noise, "fresh_noise": self.fresh_noise,
                "noise_seed": self.noise_seed,
                "objects": [obj.to_json() for obj in self.objects]}

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> Scene:
        return cls(width=int(record["width"]), height=int(record["height"]),
                   num_frames=int(record["num_frames"]), fps=float(record["fps"]),
                   objects=tuple(SceneObject.from_json(obj) for obj in record["objects"]),
                   noise_seed=int(record["noise_seed"]), background=int(record["background"]),
                   noise=float(record["noise"]), fresh_noise=bool(record["fresh_noise"]))


def random_spans(rng: np.random.Generator, num_frames: int, count: int, min_len: int, max_len: int,
                 min_gap: int) -> tuple[Span, ...] | None:
    """`count` disjoint frame ranges in time order, each min_len..max_len frames long, at least
    min_gap frames apart; None when they cannot fit."""
    lengths = rng.integers(min_len, max_len + 1, size=count)
    slack = num_frames - int(lengths.sum()) - (count - 1) * min_gap
    while slack < 0 and lengths.max() > min_len:
        longest = int(lengths.argmax())
        cut = min(-slack, int(lengths[longest]) - min_len)
        lengths[longest] -= cut
        slack += cut
    if slack < 0:
        return None
    offsets = np.sort(rng.integers(0, slack + 1, size=count))
    spans, start = [], 0
    for length, offset in zip(lengths, offsets, strict=True):
        begin = start + int(offset)
        spans.append((begin, begin + int(length)))
        start += int(length) + min_gap
    return tuple(spans)
