"""Iterative perception (VideoChat-R1.5 "ITP"): ask, re-sample around the clue, ask again."""

from videofocus.perception.loop import perceive, perceive_batch
from videofocus.perception.options import PerceptionOptions
from videofocus.perception.result import PerceptionResult, RoundCost, RoundResult, View

__all__ = ["PerceptionOptions", "PerceptionResult", "RoundCost", "RoundResult", "View", "perceive",
           "perceive_batch"]
