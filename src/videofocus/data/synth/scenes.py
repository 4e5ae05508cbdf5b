"""Building random scenes: picking distinct objects, timing their appearances, placing them.

Every object in a scene has a distinct (colour, shape) description, so "the red circle" always
names one object. Static objects never overlap; the objects a question is about are drawn on top."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from videofocus.data.synth.settings import SynthSettings
from videofocus.data.synth.world import PALETTE, SHAPES, Scene, SceneObject, Span, random_spans
from videofocus.errors import ConfigError
from videofocus.letters import OPTION_LETTERS

Description = tuple[str, str]  # (colour, shape)
ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth")


@dataclass(frozen=True)
class Draft:
    """A generated question before it becomes a Sample: the scene to render, the sample fields
    (`clue` as a schema record, exact; `think` the rationale of a multiple-choice answer, written
    into the sample when the settings ask for rationales), and `facts`, exact ground truth kept beside the sample
    (which object is the target, when a flash happens) for checks and analysis; `meta` goes into
    the sample's meta (never shown to the model)."""

    task: str
    scene: Scene
    question: str
    options: list[str] | None = None
    answer: str | None = None
    clue: dict[str, Any] | None = None
    think: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, str | int | float | bool] = field(default_factory=dict)


class SceneBuilder:
    """Collects objects for one video (or, with image=True, one image) of the given settings."""

    def __init__(self, rng: np.random.Generator, settings: SynthSettings, *, image: bool = False):
        self.rng, self.settings = rng, settings
        self.size = settings.image_size if image else settings.size
        self.num_frames = 1 if image else settings.num_frames
        self.fps = 1.0 if image else settings.fps
        self._below: list[SceneObject] = []
        self._on_top: list[SceneObject] = []
        self._static_boxes: list[tuple[int, int, int, int]] = []

    @property
    def taken(self) -> set[Description]:
        return {(obj.colour, obj.shape) for obj in self._below + self._on_top}

    def pick(self, allowed: Callable[[str, str], bool] = lambda colour, shape: True) -> Description | None:
        """A random description not used yet that `allowed` accepts (None if there is none)."""
        free = [(colour, shape) for colour in PALETTE for shape in SHAPES
                if (colour, shape) not in self.taken and allowed(colour, shape)]
        return free[self.rng.integers(len(free))] if free else None

    def spans(self, count: int, *, min_len: int | None = None, max_len: int | None = None) -> tuple[Span, ...]:
        """`count` disjoint appearances with the settings' lengths and gaps."""
        s = self.settings
        min_len = min_len or s.frames(s.min_event)
        max_len = max(min_len, max_len or s.frames(s.max_event))
        spans = random_spans(self.rng, self.num_frames, count, min_len, max_len, s.frames(s.min_gap))
        if spans is None:
            raise ConfigError(f"synth settings: {count} appearances of {min_len}+ frames with gaps of "
                              f"{s.frames(s.min_gap)} do not fit in {self.num_frames} frames; raise duration or fps")
        return spans

    def shape_size(self) -> int:
        low, high = self.settings.shape_size
        return int(self.rng.integers(low, high + 1))

    def place(self, size: int, *, required: bool = True) -> tuple[int, int] | None:
        """A random top-left corner whose box overlaps no static box placed so far (1 px apart).
        A required object that finds no free spot is placed anywhere; others get None."""
        limit = self.size - size
        for _ in range(100):
            x, y = (int(value) for value in self.rng.integers(0, limit + 1, size=2))
            box = (x, y, x + size, y + size)
            if all(_apart(box, other) for other in self._static_boxes):
                self._static_boxes.append(box)
                return x, y
        return (int(self.rng.integers(0, limit + 1)), int(self.rng.integers(0, limit + 1))) if required else None

    def path(self, size: int) -> tuple[tuple[int, int], ...]:
        """Random waypoints for a moving object (it may cross static ones: it is drawn on top)."""
        points = self.rng.integers(0, self.size - size + 1, size=(self.settings.waypoints, 2))
        return tuple((int(x), int(y)) for x, y in points)

    def add(self, description: Description, spans: Sequence[Span], *, size: int | None = None,
            waypoints: Sequence[tuple[int, int]] | None = None, recolours: Sequence[tuple[int, int, str]] = (),
            on_top: bool = True) -> SceneObject | None:
        """Add an object (static at a free spot unless waypoints are given); None if an optional
        (on_top=False) static object finds no free spot."""
        size = size or self.shape_size()
        if waypoints is None:
            corner = self.place(size, required=on_top)
            if corner is None:
                return None
            waypoints = (corner,)
        colour, shape = description
        obj = SceneObject(shape=shape, colour=colour, size=size, spans=tuple(spans), waypoints=tuple(waypoints),
                          recolours=tuple(recolours))
        (self._on_top if on_top else self._below).append(obj)
        return obj

    def add_distractors(self, like: Description | None = None,
                        allowed: Callable[[str, str], bool] = lambda colour, shape: True) -> None:
        """The settings' number of distractors, each appearing once at a random time; with
        similar_distractors they share the colour or the shape of `like`."""
        low, high = self.settings.distractors
        similar = self.settings.similar_distractors and like is not None

        def fits(colour: str, shape: str) -> bool:
            return allowed(colour, shape) and (not similar or colour == like[0] or shape == like[1])

        for _ in range(int(self.rng.integers(low, high + 1))):
            description = self.pick(fits) or self.pick(allowed)
            if description is None:
                return
            spans = self.spans(1) if self.num_frames > 1 else [(0, 1)]
            self.add(description, spans, on_top=False)

    def build(self) -> Scene:
        s = self.settings
        return Scene(width=self.size, height=self.size, num_frames=self.num_frames, fps=self.fps,
                     objects=tuple(self._below + self._on_top), noise_seed=int(self.rng.integers(2**32)),
                     background=s.background, noise=s.noise, fresh_noise=s.fresh_noise)

    def seconds(self, span: Span) -> list[float]:
        return [span[0] / self.fps, span[1] / self.fps]


def _apart(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    """Whether two boxes leave at least one pixel between them."""
    return a[2] + 1 <= b[0] or b[2] + 1 <= a[0] or a[3] + 1 <= b[1] or b[3] + 1 <= a[1]


def choices(rng: np.random.Generator, correct: str, pool: Sequence[str], count: int, *,
            in_pool_order: bool = False) -> tuple[list[str], str]:
    """Up to `count` options: `correct` and others from `pool`, in random order or, with
    `in_pool_order`, in the order of `pool` (the same random numbers are drawn either way); returns
    (options, the correct option's letter)."""
    others = [item for item in pool if item != correct]
    picked = [others[i] for i in rng.choice(len(others), size=min(count - 1, len(others)), replace=False)]
    options = [correct, *picked]
    order = rng.permutation(len(options))
    options = sorted(options, key=list(pool).index) if in_pool_order else [options[i] for i in order]
    return options, OPTION_LETTERS[options.index(correct)]
