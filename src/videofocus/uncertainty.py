"""Standard errors of benchmark metrics, so that a table can say which differences are real.

Every metric is an aggregate of per-sample values (a mean, a share above a threshold, GOT-10k's
frame-pooled mean), so one rule covers them all: the jackknife. Leave each sample out in turn,
recompute the metric with the benchmark's own aggregation, and take
    se = sqrt((n - 1) / n · Σ (θ₍ᵢ₎ − θ̄)²),
which for a plain mean equals the textbook s / √n. Above MAX_GROUPS samples the samples are dealt
into MAX_GROUPS groups and a group is left out at a time (the delete-a-group jackknife), so the cost
stays MAX_GROUPS aggregations whatever the benchmark's size."""

from __future__ import annotations

import math

from videofocus.metrics import ScoreReport, get_benchmark

MAX_GROUPS = 200


def jackknife_standard_errors(report: ScoreReport) -> dict[str, float]:
    """The standard error (in the metric's units, percentage points) of each metric of `report`;
    0 for a report of fewer than two samples."""
    scores = report.per_sample
    groups = min(len(scores), MAX_GROUPS)
    if groups < 2:
        return {name: 0.0 for name in report.metrics}
    aggregate = get_benchmark(report.benchmark).aggregate
    left_out = [aggregate([score for index, score in enumerate(scores) if index % groups != group])
                for group in range(groups)]
    errors = {}
    for name in report.metrics:
        values = [metrics[name] for metrics in left_out]
        mean = sum(values) / groups
        errors[name] = math.sqrt((groups - 1) / groups * sum((value - mean) ** 2 for value in values))
    return errors


def summary_with_errors(report: ScoreReport) -> dict:
    """What `videofocus score --json` prints and evaluation's metrics.json holds per round: the
    report's summary and each metric's standard error."""
    return {**report.as_dict(), "standard_errors": jackknife_standard_errors(report)}
