"""What a build did: per stage, how many records came in, were kept, dropped (by reason) or failed
(by reason); requests asked and answered from the cache; tokens and estimated cost."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field, fields

STAGES = ("verify", "reason", "rank")


@dataclass
class StageCounts:
    entered: int = 0
    kept: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    # Checks not run on records that went on (why not: no caption, no clue description, ...).
    unchecked: Counter[str] = field(default_factory=Counter)
    # Records kept with a part removed (an irrelevant clue).
    trimmed: Counter[str] = field(default_factory=Counter)


@dataclass
class EndpointUsage:
    model: str
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0


@dataclass
class BuildReport:
    input_records: int = 0
    written: int = 0
    stages: dict[str, StageCounts] = field(default_factory=lambda: {stage: StageCounts() for stage in STAGES})
    cached_replies: int = 0
    endpoints: dict[str, EndpointUsage] = field(default_factory=dict)

    @property
    def failed(self) -> int:
        return sum(sum(counts.failed.values()) for counts in self.stages.values())

    def to_json(self) -> dict:
        return {"input_records": self.input_records, "written": self.written, "failed": self.failed,
                "cached_replies": self.cached_replies,
                "stages": {name: {item.name: _plain(getattr(counts, item.name)) for item in fields(counts)}
                           for name, counts in self.stages.items()},
                "endpoints": {name: asdict(usage) for name, usage in self.endpoints.items()}}


def _plain(value):
    return dict(value) if isinstance(value, Counter) else value


def format_report(report: BuildReport) -> str:
    lines = [f"{report.input_records} records in, {report.written} written, {report.failed} failed "
             f"({report.cached_replies} replies from the cache)"]
    for name, counts in report.stages.items():
        lines.append(f"{name}: {counts.entered} in, {counts.kept} kept, {sum(counts.dropped.values())} dropped, "
                     f"{sum(counts.failed.values())} failed")
        for label, table in (("dropped", counts.dropped), ("failed", counts.failed),
                             ("kept, part removed", counts.trimmed), ("kept, not checked", counts.unchecked)):
            for reason, count in sorted(table.items(), key=lambda item: (-item[1], item[0])):
                lines.append(f"  {label}: {count} {reason}")
    for name, usage in report.endpoints.items():
        lines.append(f"{name} ({usage.model}): {usage.requests} requests, {usage.prompt_tokens} prompt + "
                     f"{usage.completion_tokens} completion tokens, ~${usage.cost:.4f}")
    return "\n".join(lines)
