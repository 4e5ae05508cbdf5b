"""Which frames a sampler sees, and where a brief-evidence flash may go.

A brief-evidence question has a long anchor event (the clue) and an answer visible only during a
short flash inside it. The generator places the flash so that

* round 1 -- `budget` frames spread uniformly over the whole video -- never shows it, and
* round 2 -- the same budget re-sampled with a `key_ratio` share spread over the anchor interval,
  as iterative perception does with a correct clue -- always shows it,

under every rule in RULES:
  "linspace"   round(linspace(0, N-1, n))  (qwen-vl-utils, transformers); round 2: the same rule
               over the anchor's frames with round(budget * key_ratio) frames
  "centre"     floor((i + 0.5) * N / n), the segment-centre convention; round 2 likewise
  "videofocus" the perception loop's samplers: media.sampling.uniform_indices, then
               media.pairs.second_round_indices
Dense sampling (every frame inside the anchor) shows the flash trivially.

Frames are on a regular grid: frame i is shown at i / fps seconds."""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from functools import lru_cache

import numpy as np

from videofocus.media.pairs import second_round_indices
from videofocus.media.sampling import uniform_indices
from videofocus.media.video import VideoInfo

RULES = ("linspace", "centre", "videofocus")


def uniform_frame_indices(num_frames: int, n: int, rule: str = "linspace", start: int = 0) -> np.ndarray:
    """Sorted unique indices of `n` frames spread over frames [start, start + num_frames) by the
    "linspace" or "centre" rule (all of them when n >= num_frames)."""
    if num_frames < 1 or n < 1:
        raise ValueError(f"need at least one frame and one sample, got num_frames={num_frames} n={n}")
    n = min(n, num_frames)
    if rule == "linspace":
        indices = np.round(np.linspace(0, num_frames - 1, n))
    elif rule == "centre":
        indices = np.floor((np.arange(n) + 0.5) * num_frames / n)
    else:
        raise ValueError(f"unknown uniform rule {rule!r}; choose linspace or centre")
    return start + np.unique(indices.astype(np.int64))


def frame_grid_info(num_frames: int, fps: float) -> VideoInfo:
    """A VideoInfo for a constant-rate video of `num_frames` frames (what probe() reports for
    the generated mp4 files), so the project's samplers can be asked without a file."""
    times = np.arange(num_frames) / fps
    return VideoInfo(path="<synth frame grid>", duration=num_frames / fps, fps=fps, num_frames=num_frames,
                     width=0, height=0, rotation=0, start_time=0.0, frame_times=times,
                     pts=np.arange(num_frames), time_base=Fraction(1) / Fraction(fps).limit_denominator(1001),
                     keyframe_indices=np.array([0]))


def round1_indices(num_frames: int, fps: float, budget: int) -> dict[str, np.ndarray]:
    """Round-1 frames (uniform over the whole video) under each rule."""
    frames = {rule: uniform_frame_indices(num_frames, budget, rule) for rule in ("linspace", "centre")}
    frames["videofocus"] = uniform_indices(frame_grid_info(num_frames, fps), budget)
    return frames


def round2_indices(num_frames: int, fps: float, budget: int, key_ratio: float,
                   clue: tuple[int, int]) -> dict[str, np.ndarray]:
    """Round-2 frames for a clue of frames [start, end) under each rule (for "linspace" and
    "centre" only the share inside the clue, which is all a flash inside it can show)."""
    inside = max(1, round(budget * key_ratio))
    frames = {rule: uniform_frame_indices(clue[1] - clue[0], inside, rule, clue[0]) for rule in ("linspace", "centre")}
    frames["videofocus"] = second_round_indices(frame_grid_info(num_frames, fps), budget,
                                                [(clue[0] / fps, clue[1] / fps)], key_ratio)
    return frames


def interval_hit(interval: tuple[float, float], frame_times: Iterable[float]) -> bool:
    """True when some frame time t satisfies start <= t < end (the flash is on screen at t)."""
    start, end = interval
    return any(start <= t < end for t in frame_times)


def flash_missed_by_uniform(flash: tuple[float, float], *, duration: float, fps: float, budget: int = 8) -> bool:
    """True when round 1 -- `budget` frames uniform over the whole video -- shows no frame of
    `flash` ([start, end) seconds) under every rule."""
    rounds = round1_indices(round(duration * fps), fps, budget)
    return not any(interval_hit(flash, indices / fps) for indices in rounds.values())


def flash_hit_by_focus(flash: tuple[float, float], clue: tuple[float, float], *, duration: float, fps: float,
                       budget: int = 8, key_ratio: float = 0.5) -> bool:
    """True when round 2 -- the budget re-sampled with a key_ratio share inside `clue` (seconds)
    -- shows some frame of `flash` under every rule."""
    clue_frames = (round(clue[0] * fps), round(clue[1] * fps))
    rounds = round2_indices(round(duration * fps), fps, budget, key_ratio, clue_frames)
    return all(interval_hit(flash, indices / fps) for indices in rounds.values())


@lru_cache(maxsize=32)
def flash_placements(num_frames: int, fps: float, anchor_frames: tuple[int, int], flash_frames: tuple[int, int],
                     budget: int, key_ratio: float) -> tuple[tuple[tuple[int, int], tuple[int, int]], ...]:
    """Every (anchor span, flash span) in frames -- the anchor anchor_frames[0]..[1] frames long,
    the flash flash_frames[0]..[1] frames long and at least one frame inside both ends of the
    anchor -- that round 1 misses and round 2 hits under every rule."""
    round1 = set().union(*(indices.tolist() for indices in round1_indices(num_frames, fps, budget).values()))
    placements = []
    for anchor_len in range(anchor_frames[0], min(anchor_frames[1], num_frames) + 1):
        for anchor_start in range(num_frames - anchor_len + 1):
            anchor = (anchor_start, anchor_start + anchor_len)
            round2 = [set(indices.tolist()) for indices in
                      round2_indices(num_frames, fps, budget, key_ratio, anchor).values()]
            for flash_len in range(flash_frames[0], flash_frames[1] + 1):
                for flash_start in range(anchor[0] + 1, anchor[1] - flash_len):
                    shown = set(range(flash_start, flash_start + flash_len))
                    if not shown & round1 and all(shown & frames for frames in round2):
                        placements.append((anchor, (flash_start, flash_start + flash_len)))
    return tuple(placements)
