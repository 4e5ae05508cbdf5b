"""What the demo must show, checked on its own held-out results, so that the report can say in its
first lines whether the method worked:

1. every model, in the final perception round, above the video-blind baseline of every task by more
   than its standard error (round 1 of brief evidence is not asked: its uniform frames never show
   the evidence, by construction);
2. on brief evidence, the final round of iterative perception at least ITP_GAIN points above round 1,
   for every model;
3. GRPO not below the warm-up on any task and round by more than the standard error of the
   difference (the two errors added in quadrature)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from videofocus.report import ResultsTable

ITP_GAIN = 10.0


@dataclass(frozen=True)
class TargetCheck:
    """One target: what it asks, whether it was met, and the cells that fell short (or the evidence)."""

    goal: str
    met: bool
    detail: str


def check_targets(table: ResultsTable, *, warmup: str, grpo: str, itp_selection: str) -> list[TargetCheck]:
    return [_above_baselines(table), _itp_gain(table, itp_selection), _grpo_not_below(table, warmup, grpo)]


def _above_baselines(table: ResultsTable) -> TargetCheck:
    last = table.rounds[-1]
    rows = [row for row in table.rows if row.label in table.baselines]
    short = [f"{model} {row.label} {table.value(row, model, last):.1f} vs {table.baselines[row.label].value:.1f}"
             for row in rows for model in table.models if not table.beats_baseline(row, model, last)]
    return TargetCheck(f"every model above every video-blind baseline (round {last}, by more than its standard error)",
                       not short and bool(rows), "; ".join(short) or f"{len(rows) * len(table.models)} cells above")


def _itp_gain(table: ResultsTable, selection: str) -> TargetCheck:
    first, last = table.rounds[0], table.rounds[-1]
    rows = [row for row in table.rows if row.selection == selection][:1]
    gains = {model: table.value(row, model, last) - table.value(row, model, first) for row in rows
             for model in table.models}
    text = ", ".join(f"{model} {gain:+.1f}" for model, gain in gains.items())
    return TargetCheck(f"{selection.replace('_', ' ')}: round {last} at least {ITP_GAIN:g} points above round {first}",
                       bool(gains) and all(gain >= ITP_GAIN for gain in gains.values()), text or "no such row")


def _grpo_not_below(table: ResultsTable, warmup: str, grpo: str) -> TargetCheck:
    short = []
    for row in table.rows:
        for number in table.rounds:
            mine, base = table.cell(row, grpo, number), table.cell(row, warmup, number)
            if mine.value - base.value < -math.hypot(mine.error, base.error):
                short.append(f"{row.label} r{number} {mine.value:.1f} vs {base.value:.1f}")
    return TargetCheck(f"{grpo} not below the {warmup} on any task (beyond the standard error of the difference)",
                       not short, "; ".join(short) or "none below")
