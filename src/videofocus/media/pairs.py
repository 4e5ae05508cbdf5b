"""Clue-focused sampling laid out in temporal pairs: the frames a focused perception round shows.

Qwen vision towers encode frames two at a time (temporal patch 2) and a pair's features depend only
on its two frames and their size, so a pair that reappears unchanged can reuse its vision features
(`backends.hf`). `focused_pair_indices` therefore keeps the previous round's pairs whole outside
the clue, aligned on pairs, and puts new pairs only in the gaps between them. The perception loop,
the trainer's loop views and the synthetic world's brief-evidence placement all sample with it."""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from videofocus.errors import MediaError
from videofocus.media.budget import FRAME_FACTOR
from videofocus.media.sampling import clue_mask, focused_indices, uniform_indices
from videofocus.media.video import VideoInfo

Interval = tuple[float, float]


def focused_pair_indices(info: VideoInfo, budget: int, intervals: Sequence[Interval], key_ratio: float,
                         previous: np.ndarray) -> np.ndarray:
    """`budget` frames for a round focused on `intervals`, in time order, laid out as consecutive
    temporal pairs (an odd budget ends on a single frame, which the processors pad).

    The budget is counted in pairs (ceil(budget / 2)). A `key_ratio` share of them, capped at what
    the frames shown during `intervals` hold, is spread densely over each run of those frames (ends
    included); a run of an odd number of frames that gets them all pairs its last one with a
    neighbour. The rest lie outside the clue: first `previous`'s pairs that hold no clue frame,
    unchanged so that their cached vision features apply (thinned evenly when there are more than
    the share), then new pairs in the widest gaps left between the pairs chosen so far. When those
    gaps cannot hold the new pairs (a clue covering most of a video with few frames), the frames
    are chosen one by one by `media.sampling.focused_indices`, which keeps the budget and gives the
    clue what the outside cannot hold, but reuses no pair. A video with no more frames than the
    budget is shown whole. Raises MediaError when the intervals lie outside the video."""
    if budget < 1:
        raise MediaError(f"{info.path}: the frame budget must be at least 1, got {budget}")
    if not 0.0 <= key_ratio <= 1.0:
        raise MediaError(f"{info.path}: key_ratio must be in [0, 1], got {key_ratio}")
    in_clue = clue_mask(info, list(intervals))
    if budget >= info.num_frames:
        return np.arange(info.num_frames, dtype=np.int64)
    pairs = math.ceil(budget / FRAME_FACTOR)
    runs = _clue_runs(info, in_clue)
    dense = _dense_pairs(info, runs, min(round(key_ratio * pairs), sum(run.capacity for run in runs)))
    taken = _spans_mask(dense, in_clue)
    coords = _outside_time(info, in_clue)
    units = sorted(dense + _reusable_pairs(previous, taken, coords, pairs - len(dense)))
    new = _new_pair_frames(units, pairs - len(units), ~taken, coords)
    if new is None:
        return focused_indices(info, budget, list(intervals), key_ratio=key_ratio)
    return np.sort(np.concatenate([np.array(units, dtype=np.int64).reshape(-1), new]))[:budget]


def second_round_indices(info: VideoInfo, budget: int, intervals: Sequence[Interval], key_ratio: float) -> np.ndarray:
    """Round 2 as the perception loop samples it after a round 1 of `budget` uniform frames:
    `focused_pair_indices` with round 1's frames as the previous ones."""
    return focused_pair_indices(info, budget, intervals, key_ratio, previous=uniform_indices(info, budget))


@dataclass(frozen=True)
class _ClueRun:
    """Consecutive frames shown during the clue, `first` to `last`; `spare` is the outside frame the
    run's last pair borrows when the run has an odd number of frames and gets them all."""

    first: int
    last: int
    spare: int | None
    seconds: float

    @property
    def capacity(self) -> int:
        return (self.last - self.first + 1 + (self.spare is not None)) // FRAME_FACTOR

    def frames(self, count: int, times: np.ndarray) -> np.ndarray:
        """`count` of the run's frames, evenly spaced in time from its first to its last."""
        inside = np.arange(self.first, self.last + 1)
        if count > inside.size:
            return np.sort(np.append(inside, self.spare))
        targets = np.linspace(times[self.first], times[self.last], count)
        return inside[_snap(times[inside], targets)]


def _clue_runs(info: VideoInfo, in_clue: np.ndarray) -> list[_ClueRun]:
    """The runs of clue frames in time order. A run's spare is the frame after it (before it at the
    end of the video), unless the run before already borrows that frame."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], in_clue.astype(np.int8), [0]])))
    shown_until = np.append(info.frame_times[1:], info.duration)
    runs: list[_ClueRun] = []
    for first, end in zip(edges[0::2].tolist(), edges[1::2].tolist()):
        spare = end if end < info.num_frames else first - 1
        if (end - first) % FRAME_FACTOR == 0 or spare < 0 or (runs and runs[-1].spare == spare):
            spare = None
        runs.append(_ClueRun(first, end - 1, spare, float(shown_until[end - 1] - info.frame_times[first])))
    return runs


def _dense_pairs(info: VideoInfo, runs: list[_ClueRun], count: int) -> list[tuple[int, int]]:
    """`count` pairs inside the clue, shared out over its runs by their length."""
    shares = _allocate(count, [run.capacity for run in runs], lambda place, given: runs[place].seconds / (given + 1))
    return [pair for run, share in zip(runs, shares) if share
            for pair in _whole_pairs(run.frames(FRAME_FACTOR * share, info.frame_times))]


def _spans_mask(pairs: list[tuple[int, int]], in_clue: np.ndarray) -> np.ndarray:
    """The frames no outside pair may use: the clue's and those from the first to the second frame
    of each of `pairs`."""
    change = np.zeros(in_clue.size + 1, dtype=np.int64)
    for first, second in pairs:
        change[first] += 1
        change[second + 1] -= 1
    return in_clue | (np.cumsum(change[:-1]) > 0)


def _outside_time(info: VideoInfo, in_clue: np.ndarray) -> np.ndarray:
    """Each frame's time with the clue cut out (how long frames outside the clue were on screen
    before it): evenly spaced on this axis is evenly spaced outside the clue."""
    shown_outside = np.where(in_clue[:-1], 0.0, np.diff(info.frame_times))
    return np.concatenate([[0.0], np.cumsum(shown_outside)])


def _reusable_pairs(previous: np.ndarray, taken: np.ndarray, coords: np.ndarray,
                    count: int) -> list[tuple[int, int]]:
    """At most `count` of `previous`'s pairs of two frames that span no `taken` frame, evenly
    spread on `coords` when there are more."""
    taken_before = np.concatenate([[0], np.cumsum(taken)])
    reusable = [(first, second) for first, second in _whole_pairs(previous)
                if first < second and taken_before[second + 1] == taken_before[first]]
    if len(reusable) <= count:
        return reusable
    firsts = coords[[first for first, _ in reusable]]
    targets = firsts[[len(firsts) // 2]] if count == 1 else np.linspace(firsts[0], firsts[-1], count)
    return [reusable[position] for position in _snap(firsts, targets)]


def _new_pair_frames(units: list[tuple[int, int]], count: int, free: np.ndarray,
                     coords: np.ndarray) -> np.ndarray | None:
    """Frames for `count` new pairs among the `free` frames of the gaps between `units` (sorted,
    disjoint pairs): each pair goes to the gap whose pieces on `coords` are widest, and a gap's
    frames are evenly spaced in it. None when the gaps cannot hold `count` pairs."""
    gaps = _gaps(units, free, coords)
    shares = _allocate(count, [gap.frames.size // FRAME_FACTOR for gap in gaps],
                       lambda place, given: gaps[place].piece(given))
    if shares is None:
        return None
    chosen = [gap.spread(FRAME_FACTOR * share, coords) for gap, share in zip(gaps, shares) if share]
    return np.concatenate(chosen) if chosen else np.zeros(0, dtype=np.int64)


def _allocate(count: int, capacities: list[int], priority: Callable[[int, int], float]) -> list[int] | None:
    """How many of `count` pairs each place gets, given one at a time to the place of highest
    `priority(place, pairs it has)` that has room (the earlier place on a tie); None when they do
    not fit."""
    given = [0] * len(capacities)
    heap = [(-priority(place, 0), place) for place, room in enumerate(capacities) if room > 0]
    heapq.heapify(heap)
    for _ in range(count):
        if not heap:
            return None
        _, place = heapq.heappop(heap)
        given[place] += 1
        if given[place] < capacities[place]:
            heapq.heappush(heap, (-priority(place, given[place]), place))
    return given


@dataclass(frozen=True)
class _Gap:
    """The free frames between two chosen pairs, or between one and an end of the video (`open_start`,
    `open_end`: the frame at that end may be chosen), and the gap's bounds on the outside-time axis."""

    frames: np.ndarray
    low: float
    high: float
    open_start: bool
    open_end: bool

    def pieces(self, count: int) -> int:
        """How many pieces `count` frames evenly spaced in the gap cut it into."""
        return max(count + 1 - self.open_start - self.open_end, 1)

    def piece(self, pairs: int) -> float:
        return (self.high - self.low) / self.pieces(FRAME_FACTOR * pairs)

    def spread(self, count: int, coords: np.ndarray) -> np.ndarray:
        steps = np.arange(count) + (not self.open_start)
        targets = self.low + (self.high - self.low) * steps / self.pieces(count)
        return self.frames[_snap(coords[self.frames], targets)]


def _gaps(units: list[tuple[int, int]], free: np.ndarray, coords: np.ndarray) -> list[_Gap]:
    """The gaps before, between and after `units` (sorted, disjoint pairs)."""
    free_frames = np.flatnonzero(free)
    edges = [-1, *(frame for pair in units for frame in pair), free.size]
    gaps = []
    for after, before in zip(edges[0::2], edges[1::2]):
        frames = free_frames[np.searchsorted(free_frames, after, side="right"):np.searchsorted(free_frames, before)]
        open_start, open_end = after < 0, before == free.size
        gaps.append(_Gap(frames, low=coords[0] if open_start else coords[after],
                         high=coords[-1] if open_end else coords[before], open_start=open_start, open_end=open_end))
    return gaps


def _whole_pairs(indices: np.ndarray) -> list[tuple[int, int]]:
    """The temporal pairs a clip of `indices` is encoded as; an odd last frame pairs with itself,
    as the processors pad it."""
    indices = [int(index) for index in indices]
    return [(indices[start], indices[min(start + 1, len(indices) - 1)])
            for start in range(0, len(indices), FRAME_FACTOR)]


def _snap(coords: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Positions in the sorted `coords` nearest to the sorted `targets`, made distinct by moving a
    position that repeats or passes its predecessor on to the next one (needs len(targets) <=
    len(coords))."""
    count = targets.size
    right = np.clip(np.searchsorted(coords, targets), 0, coords.size - 1)
    left = np.maximum(right - 1, 0)
    nearest = np.where(targets - coords[left] <= coords[right] - targets, left, right)
    order = np.arange(count)
    return np.maximum.accumulate(np.clip(nearest, order, coords.size - count + order) - order) + order
