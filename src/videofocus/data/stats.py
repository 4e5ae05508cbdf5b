"""What a samples file holds: counts by task, source, media type and applicable reward (the
rewards' own dynamic selection rule, `videofocus.rewards.applicable_rewards`), and the distribution
of video durations, as text (bars for the terminal) or a PNG histogram."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from videofocus.rewards import applicable_rewards
from videofocus.schema import Sample
from videofocus.storage import atomic_writer

BAR_WIDTH = 40


@dataclass
class DatasetStats:
    samples: int = 0
    by_task: Counter[str] = field(default_factory=Counter)
    by_source: Counter[str] = field(default_factory=Counter)
    by_media: Counter[str] = field(default_factory=Counter)
    by_reward: Counter[str] = field(default_factory=Counter)
    by_clue: Counter[str] = field(default_factory=Counter)
    with_answer: int = 0
    durations: list[float] = field(default_factory=list)  # of videos that declare one


def compute_stats(samples: Iterable[Sample]) -> DatasetStats:
    """Count one pass over the samples (streamed; only the durations are kept)."""
    stats = DatasetStats()
    for sample in samples:
        stats.samples += 1
        stats.by_task[sample.task] += 1
        stats.by_source[sample.source or "(none)"] += 1
        stats.by_media[sample.media.type] += 1
        stats.by_reward.update(applicable_rewards(sample))
        stats.by_clue[sample.clue.kind if sample.clue else "(none)"] += 1
        stats.with_answer += sample.answer is not None
        if sample.media.duration is not None:
            stats.durations.append(sample.media.duration)
    return stats


def duration_histogram(durations: list[float], bins: int = 10) -> list[tuple[float, float, int]]:
    """(low, high, count) for `bins` equal-width bins spanning the durations; [] when there are none."""
    if not durations:
        return []
    counts, edges = np.histogram(np.asarray(durations, dtype=float), bins=bins)
    bounds = zip(edges[:-1], edges[1:], counts, strict=True)
    return [(float(low), float(high), int(count)) for low, high, count in bounds]


def format_stats(stats: DatasetStats, bins: int = 10) -> str:
    """The report as plain text: count tables and a duration histogram drawn with bars."""
    lines = [f"{stats.samples} samples, {stats.with_answer} with an answer"]
    for title, counter in (("task", stats.by_task), ("source", stats.by_source), ("media", stats.by_media),
                           ("clue", stats.by_clue), ("reward (samples it applies to)", stats.by_reward)):
        lines += ["", f"by {title}:"]
        lines += [f"  {name:<32} {count:>8}" for name, count in counter.most_common()]
    lines += ["", *format_histogram(duration_histogram(stats.durations, bins))]
    return "\n".join(lines)


def format_histogram(histogram: list[tuple[float, float, int]]) -> list[str]:
    """Text bars, one line a bin, the longest bar BAR_WIDTH characters."""
    if not histogram:
        return ["video durations: none declared"]
    peak = max(count for _, _, count in histogram) or 1
    lines = ["video durations (s):"]
    for low, high, count in histogram:
        bar = "█" * round(BAR_WIDTH * count / peak)
        lines.append(f"  {low:8.1f} – {high:8.1f} │{bar:<{BAR_WIDTH}} {count}")
    return lines


def plot_duration_histogram(durations: list[float], path: str | os.PathLike, bins: int = 30) -> None:
    """Save a histogram of video durations as PNG, PDF or SVG (from the file suffix), atomically."""
    from matplotlib.figure import Figure  # no pyplot: no global backend state, no window

    figure = Figure(figsize=(7, 4))
    axes = figure.subplots()
    axes.hist(durations, bins=bins, color="#4472c4")
    axes.set_xlabel("video duration (s)")
    axes.set_ylabel("samples")
    axes.set_title(f"{len(durations)} samples with a declared duration")
    figure.tight_layout()
    suffix = os.fspath(path).rsplit(".", 1)[-1].lower()
    with atomic_writer(path, "wb") as handle:
        figure.savefig(handle, format=suffix if suffix in ("png", "pdf", "svg") else "png")
