"""The registry of question kinds, and how a task name becomes a mix of kinds.

A selection name is a schema task (its kinds mixed with weights from the settings) or a single
kind. A sample's source tag is `synth/<kind>`, e.g. "synth/brief_evidence"."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from videofocus.data.synth import grounding, questions
from videofocus.data.synth.scenes import Draft
from videofocus.data.synth.settings import SynthSettings
from videofocus.errors import ConfigError


@dataclass(frozen=True)
class Kind:
    """A way of making one sample: its schema task, its generator, and its weight within that task."""

    name: str
    task: str
    make: Callable[[np.random.Generator, SynthSettings], Draft]
    weight: Callable[[SynthSettings], float] = lambda settings: 1.0

    @property
    def source(self) -> str:
        return f"synth/{self.name}"


KINDS: dict[str, Kind] = {kind.name: kind for kind in (
    Kind("tg_single", "temporal_grounding", grounding.tg_single,
         lambda s: 1.0 - s.ordinal_share - s.relational_share),
    Kind("tg_ordinal", "temporal_grounding", grounding.tg_ordinal, lambda s: s.ordinal_share),
    Kind("tg_relational", "temporal_grounding", grounding.tg_relational, lambda s: s.relational_share),
    Kind("tracking", "tracking", grounding.tracking),
    Kind("spatial", "spatial_grounding", grounding.spatial),
    Kind("gqa_attribute", "grounded_qa", questions.gqa_attribute, lambda s: 1.0 - s.brief_share),
    Kind("brief_evidence", "grounded_qa", questions.brief_evidence, lambda s: s.brief_share),
    Kind("mcq_count", "mcq", questions.mcq_count),
    Kind("mcq_recolour", "mcq", questions.mcq_recolour),
    Kind("mcq_order", "mcq", questions.mcq_order),
    Kind("caption", "caption", questions.caption),
)}
TASK_NAMES = tuple(dict.fromkeys(kind.task for kind in KINDS.values()))


def resolve_selection(names: Sequence[str] | None) -> list[str]:
    """Validated selection names (tasks or kinds) in the given order; all tasks when None/empty."""
    if not names:
        return list(TASK_NAMES)
    unknown = [name for name in names if name not in TASK_NAMES and name not in KINDS]
    if unknown:
        raise ConfigError(f"unknown synth task(s) {', '.join(unknown)}; choose tasks ({', '.join(TASK_NAMES)}) "
                          f"or kinds ({', '.join(KINDS)})")
    return list(dict.fromkeys(names))


def choose_kind(name: str, rng: np.random.Generator, settings: SynthSettings) -> Kind:
    """The kind named, or for a task one of its kinds drawn by the settings' weights."""
    if name in KINDS:
        return KINDS[name]
    members = [kind for kind in KINDS.values() if kind.task == name]
    weights = np.clip([kind.weight(settings) for kind in members], 0.0, None)  # 1 - a - b may round below 0
    if weights.sum() <= 0:
        raise ConfigError(f"synth settings give every kind of task {name} weight 0")
    return members[rng.choice(len(members), p=weights / weights.sum())]
