"""Which frames a sampler sees, and where a brief-evidence flash may go.

A brief-evidence question has a long anchor event (the clue) and an answer visible only during a
short flash inside it. The generator places the flash so that

* round 1 -- `budget` frames spread uniformly over the whole video -- never shows it, and
* round 2 -- `round(budget * key_ratio)` frames spread uniformly over the anchor interval, as
  iterative perception re-samples inside a correct clue -- always shows it,

under every rule in UNIFORM_RULES, the two common ways of spreading n frames over N: the
endpoints-included `round(linspace(0, N-1, n))` (qwen-vl-utils, transformers) and the
segment-centre `floor((i + 0.5) * N / n)`. Dense sampling (every frame inside the anchor) shows it
trivially."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np


def _linspace_rule(num_frames: int, n: int) -> np.ndarray:
    return np.round(np.linspace(0, num_frames - 1, n)).astype(np.int64)


def _centre_rule(num_frames: int, n: int) -> np.ndarray:
    return np.floor((np.arange(n) + 0.5) * num_frames / n).astype(np.int64)


UNIFORM_RULES = {
    "linspace": _linspace_rule,  # round(linspace(0, N - 1, n))
    "centre": _centre_rule,      # floor((i + 0.5) * N / n)
}


def uniform_frame_indices(num_frames: int, n: int, rule: str = "linspace", start: int = 0) -> np.ndarray:
    """Sorted unique indices of `n` frames spread uniformly over frames [start, start + num_frames)."""
    if num_frames < 1 or n < 1:
        raise ValueError(f"need at least one frame and one sample, got num_frames={num_frames} n={n}")
    return start + np.unique(UNIFORM_RULES[rule](num_frames, min(n, num_frames)))


def interval_hit(interval: tuple[float, float], frame_times: Iterable[float]) -> bool:
    """True when some frame time t satisfies start <= t < end (the flash is on screen at t)."""
    start, end = interval
    return any(start <= t < end for t in frame_times)


def flash_missed_by_uniform(flash: tuple[float, float], *, duration: float, fps: float, budget: int = 8,
                            rules: Sequence[str] = tuple(UNIFORM_RULES)) -> bool:
    """True when round-1 sampling -- `budget` frames uniform over the whole video, under each of
    `rules` -- shows no frame of `flash` (seconds, [start, end))."""
    num_frames = round(duration * fps)
    return not any(interval_hit(flash, uniform_frame_indices(num_frames, budget, rule) / fps) for rule in rules)


def flash_hit_inside(flash: tuple[float, float], clue: tuple[float, float], *, fps: float, frames: int,
                     rules: Sequence[str] = tuple(UNIFORM_RULES)) -> bool:
    """True when `frames` frames spread uniformly over the clue interval (its frames at `fps`)
    show the flash under every rule."""
    first, stop = round(clue[0] * fps), round(clue[1] * fps)
    return all(interval_hit(flash, uniform_frame_indices(stop - first, frames, rule, first) / fps)
               for rule in rules)


@lru_cache(maxsize=32)
def flash_placements(num_frames: int, anchor_frames: tuple[int, int], flash_frames: tuple[int, int],
                     budget: int, inside: int) -> tuple[tuple[tuple[int, int], tuple[int, int]], ...]:
    """Every (anchor span, flash span) in frames, with the flash at least one frame inside both ends
    of the anchor, that round 1 (`budget` frames) misses and round 2 (`inside` frames spread over
    the anchor) hits under every uniform rule."""
    round1 = set().union(*(uniform_frame_indices(num_frames, budget, rule).tolist() for rule in UNIFORM_RULES))
    placements = []
    for anchor_len in range(anchor_frames[0], min(anchor_frames[1], num_frames) + 1):
        for anchor_start in range(num_frames - anchor_len + 1):
            anchor = (anchor_start, anchor_start + anchor_len)
            focused = [set(uniform_frame_indices(anchor_len, inside, rule, anchor_start).tolist())
                       for rule in UNIFORM_RULES]
            for flash_len in range(flash_frames[0], flash_frames[1] + 1):
                for flash_start in range(anchor[0] + 1, anchor[1] - flash_len):
                    shown = set(range(flash_start, flash_start + flash_len))
                    if not shown & round1 and all(shown & frames for frames in focused):
                        placements.append((anchor, (flash_start, flash_start + flash_len)))
    return tuple(placements)
