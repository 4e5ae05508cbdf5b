"""What iterative perception returns: every round's view, output, parsed clue and answer, and cost.

Everything here is plain data that survives `json.dumps(result.to_dict())` and comes back with
`PerceptionResult.from_dict`, since evaluation writes results as JSONL and resumes from them.
Units: times in seconds from the start of the video, boxes in pixels of the original image.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

MediaType = Literal["video", "image"]
StopReason = Literal["rounds", "converged"]


@dataclass(frozen=True)
class View:
    """What the model was shown in one round.

    Video: the frames (indices into the video's frames and their true timestamps). Image: the full
    image of `image_size` (width, height) plus `crops` (boxes in original pixels). `focus` is the
    clue that steered the view (intervals in seconds, or boxes), None for a uniform / full view."""

    media_type: MediaType
    frame_indices: tuple[int, ...] = ()
    timestamps: tuple[float, ...] = ()
    image_size: tuple[int, int] | None = None
    crops: tuple[tuple[float, ...], ...] = ()
    focus: tuple[tuple[float, ...], ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"media_type": self.media_type,
                                "focus": [list(item) for item in self.focus] if self.focus is not None else None}
        if self.media_type == "video":
            data.update(frame_indices=list(self.frame_indices), timestamps=list(self.timestamps))
        else:
            data.update(image_size=list(self.image_size) if self.image_size else None,
                        crops=[list(crop) for crop in self.crops])
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> View:
        focus = data.get("focus")
        image_size = data.get("image_size")
        return cls(
            media_type=data["media_type"],
            frame_indices=tuple(int(index) for index in data.get("frame_indices", ())),
            timestamps=tuple(float(time) for time in data.get("timestamps", ())),
            image_size=(int(image_size[0]), int(image_size[1])) if image_size else None,
            crops=tuple(tuple(float(value) for value in crop) for crop in data.get("crops", ())),
            focus=tuple(tuple(float(value) for value in item) for item in focus) if focus is not None else None,
        )


# RoundCost fields that depend on the run, not on the model and its inputs: wall-clock times, and
# vision features that happened to be cached by what ran before. Two runs agree on them only by chance.
RUN_DEPENDENT_COSTS = frozenset({"seconds", "decode_seconds", "model_seconds", "cached_visual_tokens"})


def without_run_dependent_costs(value: Any) -> Any:
    """A result's JSON (`to_dict`, or any structure holding it) without RUN_DEPENDENT_COSTS fields:
    what two runs of the same evaluation must agree on."""
    if isinstance(value, dict):
        return {key: without_run_dependent_costs(item) for key, item in value.items()
                if key not in RUN_DEPENDENT_COSTS}
    if isinstance(value, list):
        return [without_run_dependent_costs(item) for item in value]
    return value


@dataclass(frozen=True)
class RoundCost:
    """What one round cost one sample.

    `frames`: frames (video) or images (full image + crops) shown. `decoded_frames`: frames decoded
    for this round; the others came from the per-video frame cache. `cached_visual_tokens`: visual
    tokens whose vision features were reused; `accepted_draft_tokens`: completion tokens checked
    against the previous round's output in one pass instead of decoded one by one. `seconds` = `decode_seconds` +
    `model_seconds` (a batched model call's time is split evenly over its samples). `reused`: the
    model was not asked because the view and the prompt equalled the previous round's and decoding
    is deterministic, so the previous output is the answer."""

    frames: int = 0
    decoded_frames: int = 0
    visual_tokens: int = 0
    cached_visual_tokens: int = 0
    accepted_draft_tokens: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    decode_seconds: float = 0.0
    model_seconds: float = 0.0
    reused: bool = False

    @property
    def seconds(self) -> float:
        return self.decode_seconds + self.model_seconds

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "seconds": self.seconds}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RoundCost:
        return cls(**{name: data[name] for name in cls.__dataclass_fields__ if name in data})


@dataclass(frozen=True)
class RoundResult:
    """One round: what the model saw, what it said, and what was read from it.

    `answer` is the answer text as written; `option` the option letter read from it (samples with
    options). `intervals` (seconds) and `boxes` (original pixels) are the clue; `track` the boxes of a
    tracking answer, one per frame, in the units the task asks for (normalised 0–1 in the
    videofocus and VideoChat-R1 tracking prompts). `fallback` says why this round's view is
    not focused on the previous round's clue (None when it is, and in round 1)."""

    round: int
    view: View
    output: str
    think: str | None = None
    answer: str | None = None
    option: str | None = None
    intervals: list[tuple[float, float]] | None = None
    boxes: list[list[float]] | None = None
    track: list[list[float]] | None = None
    fallback: str | None = None
    cost: RoundCost = field(default_factory=RoundCost)

    def to_dict(self) -> dict[str, Any]:
        return {
            "round": self.round, "view": self.view.to_dict(), "output": self.output, "think": self.think,
            "answer": self.answer, "option": self.option,
            "intervals": [list(pair) for pair in self.intervals] if self.intervals is not None else None,
            "boxes": self.boxes, "track": self.track, "fallback": self.fallback, "cost": self.cost.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RoundResult:
        intervals = data.get("intervals")
        return cls(
            round=int(data["round"]), view=View.from_dict(data["view"]), output=data["output"],
            think=data.get("think"), answer=data.get("answer"), option=data.get("option"),
            intervals=[(float(start), float(end)) for start, end in intervals] if intervals is not None else None,
            boxes=data.get("boxes"), track=data.get("track"), fallback=data.get("fallback"),
            cost=RoundCost.from_dict(data.get("cost", {})),
        )


@dataclass(frozen=True)
class PerceptionResult:
    """All rounds of one sample. The final answer and clue are the last round's."""

    id: str
    task: str
    media_type: MediaType
    rounds: list[RoundResult]
    stop_reason: StopReason = "rounds"

    @property
    def final(self) -> RoundResult:
        return self.rounds[-1]

    @property
    def seconds(self) -> float:
        return sum(round_.cost.seconds for round_ in self.rounds)

    def prediction(self) -> dict[str, Any]:
        """The final round in the parsed-prediction format that scoring reads (SPEC): id, answer
        (the option letter when there are options), intervals, boxes, track."""
        final = self.final
        return {"id": self.id, "answer": final.option if final.option is not None else final.answer,
                "intervals": [list(pair) for pair in final.intervals] if final.intervals else None,
                "boxes": final.boxes, "track": final.track}

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "task": self.task, "media_type": self.media_type, "stop_reason": self.stop_reason,
                "seconds": self.seconds, "rounds": [round_.to_dict() for round_ in self.rounds]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PerceptionResult:
        return cls(id=data["id"], task=data["task"], media_type=data["media_type"],
                   rounds=[RoundResult.from_dict(item) for item in data["rounds"]],
                   stop_reason=data.get("stop_reason", "rounds"))
