"""The registry of question kinds, and how a task name becomes a mix of kinds.

A selection name is a schema task (its kinds mixed with weights from the settings) or a single
kind. A sample's source tag is `synth/<kind>`, e.g. "synth/brief_evidence".

Listing the kinds imports nothing heavy (the command line's help lists them): each kind's generator
is imported when first used."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from videofocus.data.synth.settings import SynthSettings
from videofocus.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np

    from videofocus.data.synth.scenes import Draft


@dataclass(frozen=True)
class Kind:
    """A way of making one sample: its schema task, the module whose function of the kind's name
    makes it ("grounding" or "questions"), and its weight within that task."""

    name: str
    task: str
    module: str
    weight: Callable[[SynthSettings], float] = lambda settings: 1.0

    @property
    def source(self) -> str:
        return f"synth/{self.name}"

    @property
    def make(self) -> Callable[[np.random.Generator, SynthSettings], Draft]:
        return getattr(importlib.import_module(f"videofocus.data.synth.{self.module}"), self.name)


KINDS: dict[str, Kind] = {kind.name: kind for kind in (
    Kind("tg_single", "temporal_grounding", "grounding", lambda s: 1.0 - s.ordinal_share - s.relational_share),
    Kind("tg_ordinal", "temporal_grounding", "grounding", lambda s: s.ordinal_share),
    Kind("tg_relational", "temporal_grounding", "grounding", lambda s: s.relational_share),
    Kind("tracking", "tracking", "grounding"),
    Kind("spatial", "spatial_grounding", "grounding"),
    Kind("gqa_attribute", "grounded_qa", "questions", lambda s: 1.0 - s.brief_share),
    Kind("brief_evidence", "grounded_qa", "questions", lambda s: s.brief_share),
    Kind("mcq_count", "mcq", "questions"),
    Kind("mcq_recolour", "mcq", "questions"),
    Kind("mcq_order", "mcq", "questions"),
    Kind("caption", "caption", "questions"),
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
