"""Which frames the model sees: uniform, by fps, and clue-focused sampling.

Every strategy works on the true frame times of a `VideoInfo` (so variable frame rate is spaced by
time, not by index) and returns sorted, unique frame indices (`nearest_frames`: one per time asked
for); `read_frames` decodes them and `info.frame_times[indices]` are their timestamps."""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence

import numpy as np

from videofocus.errors import MediaError
from videofocus.media.budget import FRAME_FACTOR
from videofocus.media.video import VideoInfo

# No model takes more frames than this; asking for more is a mistake, not a wish for all frames.
MAX_SAMPLED_FRAMES = 16384

Intervals = list[tuple[float, float]]


def uniform_indices(info: VideoInfo, num_frames: int) -> np.ndarray:
    """`num_frames` frames evenly spaced in time from the first frame to the last (both included,
    as qwen-vl-utils does); all frames when the video has fewer."""
    count = _checked_count(info, num_frames)
    region = [(0.0, info.duration)]
    return _spread(info.frame_times, count, region)


def fps_indices(info: VideoInfo, fps: float = 2.0, min_frames: int = 4, max_frames: int = 768) -> np.ndarray:
    """Frames at about `fps` per second, evenly spaced, with qwen-vl-utils' frame-count rule:
    duration × fps clamped to [min_frames, max_frames] and rounded down to a multiple of 2 (the
    temporal patch), never more than the video has."""
    if not (math.isfinite(fps) and fps > 0):
        raise MediaError(f"{info.path}: sampling fps must be a positive number, got {fps}")
    if min_frames < 1 or max_frames < min_frames:
        raise MediaError(f"{info.path}: need 1 <= min_frames <= max_frames, got {min_frames}, {max_frames}")
    low = _ceil_to(min_frames, FRAME_FACTOR)
    high = max(_floor_to(max_frames, FRAME_FACTOR), FRAME_FACTOR)
    wanted = min(max(info.duration * fps, low), high, info.num_frames)
    count = max(_floor_to(wanted, FRAME_FACTOR), 1)
    return uniform_indices(info, min(count, MAX_SAMPLED_FRAMES))


def nearest_frames(frame_times: np.ndarray, times: Sequence[float]) -> np.ndarray:
    """Index of the frame closest in time to each of `times` (a track lists one box per such frame)."""
    if len(frame_times) == 1:
        return np.zeros(len(times), dtype=np.int64)
    right = np.clip(np.searchsorted(frame_times, times), 1, len(frame_times) - 1)
    left = right - 1
    closer_left = np.abs(np.asarray(times) - frame_times[left]) <= np.abs(frame_times[right] - np.asarray(times))
    return np.where(closer_left, left, right).astype(np.int64)


def focused_indices(info: VideoInfo, num_frames: int, intervals: Intervals, key_ratio: float = 0.5) -> np.ndarray:
    """The same frame budget, with a `key_ratio` share of it spread densely over the frames shown
    during `intervals` (seconds from the start) and the rest spread evenly over the rest of the
    video. A share that one side cannot use (too few frames there) goes to the other. Raises
    MediaError if no interval overlaps the video. (A perception round after another samples with
    `media.pairs.focused_pair_indices`, which also reuses the previous round's frames.)"""
    count = _checked_count(info, num_frames)
    if not 0.0 <= key_ratio <= 1.0:
        raise MediaError(f"{info.path}: key_ratio must be in [0, 1], got {key_ratio}")
    inside_region = _clue_region(info, intervals)
    outside_region = _complement(inside_region, info.duration)
    is_inside = clue_mask(info, intervals)
    inside, outside = np.flatnonzero(is_inside), np.flatnonzero(~is_inside)
    n_inside, n_outside = _split(count, key_ratio, inside.size, outside.size)
    chosen_inside = inside[_spread(info.frame_times[inside], n_inside, inside_region)]
    chosen_outside = outside[_spread(info.frame_times[outside], n_outside, outside_region)]
    return np.sort(np.concatenate([chosen_inside, chosen_outside]))


RELEASED_CLUE_WEIGHT = 1.5  # VideoChat-R1.5's evaluation: a clue frame counts 1.5 times an other frame


def released_key_frames(info: VideoInfo, num_frames: int, intervals: Intervals,
                        clue_weight: float = RELEASED_CLUE_WEIGHT) -> np.ndarray:
    """The frame rule of the released VideoChat-R1.5 evaluation (`sample_frames` in its
    my_vision_process.py), for the rounds after the first:

    - each interval becomes the frame range int(start × fps) … int(end × fps) over the first
      `num_frames - 1` frames of the video (the release passes the frame count minus one, so the
      last frame is never sampled), ranges left empty are dropped, overlaps are not merged;
    - the budget splits in proportion to frames × weight (`clue_weight` inside, 1 outside), the
      clue's share rounded (Python's round); each range gets a rounded share of it, at least one
      frame, spread by `np.linspace(…, dtype=int)`; the other frames are spread the same way;
    - duplicates are dropped, so a round can show FEWER frames than the budget.

    `info.fps` is the video's average rate, as decord's. Raises MediaError when the rule has nothing
    to share (the release then samples uniformly)."""
    count = _checked_count(info, num_frames)
    usable = info.num_frames - 1
    ranges = []
    for start, end in intervals:
        first, last = int(start * info.fps), min(int(end * info.fps), usable - 1)
        if first <= last:
            ranges.append((first, last))
    clue_frames = sum(last - first + 1 for first, last in ranges)
    other_frames = usable - clue_frames
    weighted = clue_frames * clue_weight + other_frames
    if weighted <= 0:
        raise MediaError(f"{info.path}: no frames to share between the clue {_format(intervals)} and the rest")
    clue_share = round(count * clue_frames * clue_weight / weighted)
    chosen: list[int] = []
    for first, last in ranges:
        share = max(1, round(clue_share * (last - first + 1) / clue_frames))
        chosen.extend(np.linspace(first, last, num=share, dtype=int).tolist())
    in_clue = np.zeros(max(usable, 0), dtype=bool)
    for first, last in ranges:
        in_clue[first:last + 1] = True
    others = np.flatnonzero(~in_clue)
    if count - clue_share > 0 and others.size:
        chosen.extend(others[np.linspace(0, others.size - 1, num=count - clue_share, dtype=int)].tolist())
    return np.array(sorted(set(chosen)), dtype=np.int64)


def clue_mask(info: VideoInfo, intervals: Intervals) -> np.ndarray:
    """Which frames are on screen during `intervals`: frame i is shown from its time until the
    next frame's, so even a point-like interval catches the frame shown then. MediaError if no
    interval overlaps the video."""
    starts = info.frame_times
    ends = np.append(starts[1:], info.duration)
    shown = np.zeros(info.num_frames, dtype=bool)
    for start, end in _clue_region(info, intervals):
        shown |= (starts <= end) & (ends > start)
    return shown


# --- budget and intervals --------------------------------------------------------------------

def _checked_count(info: VideoInfo, num_frames: int) -> int:
    if isinstance(num_frames, bool) or not isinstance(num_frames, (int, np.integer)):
        raise MediaError(f"{info.path}: the number of frames must be an integer, got {num_frames!r}")
    if num_frames <= 0:
        raise MediaError(f"{info.path}: the number of frames must be at least 1, got {num_frames}")
    if num_frames > MAX_SAMPLED_FRAMES:
        raise MediaError(f"{info.path}: {num_frames} frames is more than any model takes "
                         f"(at most {MAX_SAMPLED_FRAMES})")
    return min(int(num_frames), info.num_frames)


def _clue_region(info: VideoInfo, intervals: Intervals) -> Intervals:
    """The intervals clipped to the video and merged; MediaError if bad or all outside."""
    clipped = []
    for interval in intervals:
        start, end = _checked_interval(info, interval)
        start, end = max(start, 0.0), min(end, info.duration)
        if start < end or (start == end and 0.0 <= start < info.duration):
            clipped.append((start, end))
    if not clipped:
        raise MediaError(f"{info.path}: focus interval(s) {_format(intervals)} lie outside the video "
                         f"(0-{info.duration:.2f}s)")
    merged: Intervals = []
    for start, end in sorted(clipped):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _checked_interval(info: VideoInfo, interval) -> tuple[float, float]:
    try:
        start, end = (float(value) for value in interval)
    except (TypeError, ValueError):
        raise MediaError(f"{info.path}: a focus interval is two numbers (start, end), got {interval!r}") from None
    if not (math.isfinite(start) and math.isfinite(end)) or end < start:
        raise MediaError(f"{info.path}: focus interval ({start}, {end}) is not a time range")
    return start, end


def _format(intervals: Intervals) -> str:
    return ", ".join(f"{float(s):g}-{float(e):g}s" for s, e in intervals) or "(none)"


def _complement(region: Intervals, duration: float) -> Intervals:
    bounds = [0.0] + [t for interval in region for t in interval] + [duration]
    return [(bounds[i], bounds[i + 1]) for i in range(0, len(bounds), 2) if bounds[i] < bounds[i + 1]]


def _split(count: int, key_ratio: float, n_inside: int, n_outside: int) -> tuple[int, int]:
    inside = min(round(key_ratio * count), n_inside)
    outside = min(count - inside, n_outside)
    return min(count - outside, n_inside), outside


# --- even spreading --------------------------------------------------------------------------

def _region_time(times: np.ndarray, region: Intervals) -> np.ndarray:
    """Each time mapped to how much of `region` lies before it: a time axis with the gaps cut
    out, on which 'evenly spaced' means evenly spaced within the region."""
    starts = np.array([s for s, _ in region])
    lengths = np.array([e - s for s, e in region])
    return np.clip(times[:, None] - starts[None, :], 0.0, lengths[None, :]).sum(axis=1)


def _spread(times: np.ndarray, count: int, region: Intervals) -> np.ndarray:
    """Positions of `count` of the sorted `times`, as evenly spaced within `region` as the
    frames allow: snap evenly spaced targets (ends included) to the nearest frame, then fill
    the places where two targets snapped to one frame."""
    if count >= times.size:
        return np.arange(times.size)
    if count == 0:
        return np.arange(0)
    coords = _region_time(times, region)
    targets = np.linspace(coords[0], coords[-1], count) if count > 1 else np.array([coords.mean()])
    nearest = np.unique(_nearest(coords, targets))
    return _fill_gaps(coords, nearest, count - nearest.size)


def _nearest(sorted_values: np.ndarray, targets: np.ndarray) -> np.ndarray:
    right = np.clip(np.searchsorted(sorted_values, targets), 1, sorted_values.size - 1)
    left = right - 1
    return np.where(targets - sorted_values[left] <= sorted_values[right] - targets, left, right)


def _fill_gaps(coords: np.ndarray, chosen: np.ndarray, extra: int) -> np.ndarray:
    """Add `extra` positions to the sorted `chosen` so that the gaps between chosen frames stay
    as even as possible: share the new frames out over the gaps, space them evenly within each,
    snap to free frames; any that collide are then placed one by one in the widest gap."""
    chosen = np.sort(np.asarray(chosen, dtype=np.int64))
    if extra <= 0:
        return chosen
    free = np.setdiff1d(np.arange(coords.size), chosen, assume_unique=True)
    snapped = np.unique(free[_nearest(coords[free], _gap_targets(coords, chosen, extra))])
    chosen = np.union1d(chosen, snapped)
    for _ in range(extra - snapped.size):
        chosen = _add_in_widest_gap(coords, chosen)
    return chosen


def _gap_targets(coords: np.ndarray, chosen: np.ndarray, extra: int) -> np.ndarray:
    """Coordinates for `extra` new frames: each goes where the pieces of a gap are widest (the
    greedy rule that minimises the widest piece); a gap that gets m frames is cut evenly. The
    outer gaps are open at the ends of `coords`, which get a frame first."""
    if chosen.size == 0:
        return np.linspace(coords[0], coords[-1], extra)
    edges = np.concatenate([[coords[0]], coords[chosen], [coords[-1]]])
    widths = np.diff(edges)
    last = widths.size - 1
    counts = np.zeros(widths.size, dtype=np.int64)

    def piece(gap: int) -> float:
        open_ends = (gap == 0) + (gap == last)
        return widths[gap] / max(counts[gap] + 1 - open_ends, 1)

    heap = [(-piece(gap), gap) for gap in range(widths.size)]
    heapq.heapify(heap)
    for _ in range(extra):
        _, gap = heapq.heappop(heap)
        counts[gap] += 1
        heapq.heappush(heap, (-piece(gap), gap))
    targets = []
    for gap in np.flatnonzero(counts):
        m, start, width = counts[gap], edges[gap], widths[gap]
        steps = np.arange(1, m + 1)
        if gap == 0:          # open on the left: the first frame goes at the start
            targets.append(start + width * (steps - 1) / m)
        elif gap == last:     # open on the right
            targets.append(start + width * steps / m)
        else:
            targets.append(start + width * steps / (m + 1))
    return np.concatenate(targets)


def _add_in_widest_gap(coords: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """`chosen` plus the free position nearest the middle of the widest gap that has one."""
    free = np.setdiff1d(np.arange(coords.size), chosen, assume_unique=True)
    bounds = np.concatenate([[coords[0]], coords[chosen], [coords[-1]]])
    gap = np.searchsorted(chosen, free)  # free[k] lies between bounds[gap[k]] and bounds[gap[k] + 1]
    width = bounds[gap + 1] - bounds[gap]
    middle = (bounds[gap + 1] + bounds[gap]) / 2
    best = np.lexsort((np.abs(coords[free] - middle), -width))[0]
    return np.insert(chosen, gap[best], free[best])


def _ceil_to(value: float, factor: int) -> int:
    return math.ceil(value / factor) * factor


def _floor_to(value: float, factor: int) -> int:
    return math.floor(value / factor) * factor
