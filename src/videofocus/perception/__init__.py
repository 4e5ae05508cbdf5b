"""Iterative perception (VideoChat-R1.5 "ITP"): ask, re-sample around the clue, ask again."""

from typing import TYPE_CHECKING

from videofocus.lazy import lazy_attributes
from videofocus.perception.options import PerceptionOptions
from videofocus.perception.result import PerceptionResult, RoundCost, RoundResult, View

if TYPE_CHECKING:
    from videofocus.perception.loop import perceive, perceive_batch

# The loop imports the model inputs (torch, transformers): only when used.
__getattr__ = lazy_attributes(__name__, {"perceive": "videofocus.perception.loop",
                                         "perceive_batch": "videofocus.perception.loop"})

__all__ = ["PerceptionOptions", "PerceptionResult", "RoundCost", "RoundResult", "View", "perceive",
           "perceive_batch"]
