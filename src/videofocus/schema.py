"""The one sample format (SPEC: "The one sample format"): pydantic models, and sample files read
(naming file, line and field on error) and written atomically.

A sample's annotations decide which rewards and metrics apply to it: a missing clue means no clue
reward, a missing answer means no accuracy reward ("dynamic reward selection",
`videofocus.rewards.applicable_rewards`)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from videofocus.errors import DataError
from videofocus.jsonfiles import iter_jsonl
from videofocus.letters import OPTION_LETTERS
from videofocus.storage import atomic_writer

Task = Literal["temporal_grounding", "grounded_qa", "tracking", "spatial_grounding", "mcq", "caption",
               "classification"]
TASKS: tuple[str, ...] = get_args(Task)


class _FieldError(ValueError):
    """A cross-field check that failed; carries the field to blame so errors can name it."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


class _Strict(BaseModel):
    # Non-finite numbers (NaN, inf) would slip through every ordering check below.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Media(_Strict):
    type: Literal["video", "image"]
    path: str = Field(min_length=1)
    duration: float | None = Field(default=None, ge=0)
    width: int | None = Field(default=None, gt=0)
    height: int | None = Field(default=None, gt=0)
    # The segment of the video the sample is about (seconds): the model sees only [start, end), and
    # every time of the sample (clue intervals, track times) counts from `start`.
    start: float | None = Field(default=None, ge=0)
    end: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _image_has_no_duration(self):
        if self.type == "image" and (self.duration is not None or self.start is not None or self.end is not None):
            raise _FieldError("duration", "an image has no duration or segment")
        if (self.start is None) != (self.end is None):
            raise _FieldError("start", "a segment needs both start and end")
        if self.start is not None and self.end <= self.start:
            raise _FieldError("end", f"segment end {self.end} is not after its start {self.start}")
        return self

    @property
    def segment(self) -> tuple[float, float] | None:
        return (self.start, self.end) if self.start is not None else None

    def resolve(self, media_root: str | os.PathLike | None, *, allow_outside: bool = False) -> Path:
        """The media file's path: absolute as given, else relative to `media_root`. A relative path
        whose `..` parts lead outside `media_root` is a DataError unless `allow_outside` (an
        annotation file must not reach files next to its media by accident or on purpose)."""
        path = Path(self.path)
        if path.is_absolute() or media_root is None:
            return path
        joined = Path(media_root) / path
        if not allow_outside and os.path.normpath(path).split(os.sep)[0] == os.pardir:
            raise DataError(f"media path {self.path!r} leads outside the media root {media_root}", field="media.path")
        return joined


def _check_box(box: list[float]) -> list[float]:
    if len(box) != 4:
        raise ValueError(f"a box has 4 numbers [x0, y0, x1, y1], got {len(box)}")
    x0, y0, x1, y1 = box
    if x1 < x0 or y1 < y0:
        raise ValueError(f"box {box} has x1 < x0 or y1 < y0")
    return box


class TrackPoint(_Strict):
    t: float = Field(ge=0)
    box: list[float]

    @field_validator("box")
    @classmethod
    def _box(cls, box: list[float]) -> list[float]:
        return _check_box(box)


class Saliency(_Strict):
    """Per-clip relevance of a video to its query (QVHighlights highlight detection): the video cut into
    clips of `clip_length` s, the annotated clips by index, and each one's scores by every annotator
    (0 = very bad … 4 = very good; QVHighlights has 3 annotators). Clips not listed score 0."""

    clip_length: float = Field(default=2.0, gt=0)
    clip_ids: list[int]
    scores: list[list[float]]

    @model_validator(mode="after")
    def _aligned(self):
        if len(self.clip_ids) != len(self.scores):
            raise _FieldError("scores", f"{len(self.scores)} score rows for {len(self.clip_ids)} clip ids")
        if any(clip < 0 for clip in self.clip_ids):
            raise _FieldError("clip_ids", "clip ids count from 0")
        if len({len(row) for row in self.scores}) > 1 or any(not row for row in self.scores):
            raise _FieldError("scores", "every clip needs one score per annotator, the same annotators for all")
        return self

    @property
    def annotators(self) -> int:
        return len(self.scores[0]) if self.scores else 0


class Clue(_Strict):
    """Where the evidence is: time intervals (s), boxes (original pixels) or a track; with intervals,
    optionally the per-clip saliency that highlight detection scores."""

    intervals: list[tuple[float, float]] | None = None
    boxes: list[list[float]] | None = None
    track: list[TrackPoint] | None = None
    saliency: Saliency | None = None

    @field_validator("intervals")
    @classmethod
    def _intervals(cls, intervals):
        for start, end in intervals or []:
            if start < 0:
                raise ValueError(f"interval [{start}, {end}] starts before 0")
            if end < start:
                raise ValueError(f"interval [{start}, {end}] ends before it starts")
        return intervals

    @field_validator("boxes")
    @classmethod
    def _boxes(cls, boxes):
        return [_check_box(box) for box in boxes] if boxes is not None else None

    @field_validator("track")
    @classmethod
    def _track(cls, track):
        times = [point.t for point in track or []]
        if times != sorted(times):
            raise ValueError("track times must increase")
        return track

    @model_validator(mode="after")
    def _one_kind(self):
        kinds = [name for name in ("intervals", "boxes", "track") if getattr(self, name)]
        if len(kinds) != 1:
            raise ValueError(f"a clue has exactly one non-empty kind of intervals/boxes/track, got {kinds or 'none'}")
        if self.saliency is not None and not self.intervals:
            raise _FieldError("saliency", "saliency comes with the clue's intervals (a temporal clue)")
        return self

    @property
    def kind(self) -> str:
        """"temporal", "spatial" or "tracking"."""
        return "temporal" if self.intervals else "spatial" if self.boxes else "tracking"


# The clue kinds each task accepts; tasks not listed accept any kind.
_TASK_CLUE_KINDS = {
    "temporal_grounding": ("temporal",),
    "grounded_qa": ("temporal", "spatial"),
    "tracking": ("tracking",),
    "spatial_grounding": ("spatial",),
}


class Sample(_Strict):
    id: str = Field(min_length=1)
    task: Task
    media: Media
    question: str = ""
    options: list[str] | None = None
    answer: str | None = None
    think: str | None = None
    clue: Clue | None = None
    source: str | None = None
    # Source annotations kept for reference (e.g. VideoMME's duration category, MVBench's segment
    # bounds); never shown to the model, and not read by scoring (docs/data-format.md).
    meta: dict[str, str | int | float | bool] | None = None

    @model_validator(mode="after")
    def _consistent(self):
        if self.options is not None:
            if len(self.options) < 2 or len(self.options) > len(OPTION_LETTERS):
                raise _FieldError("options", f"options must list 2..{len(OPTION_LETTERS)} texts, "
                                             f"got {len(self.options)}")
            if self.answer is not None and self.answer not in self.option_letters:
                raise _FieldError("answer", f"answer {self.answer!r} is not one of the option letters "
                                            f"{''.join(self.option_letters)}")
        if self.task in ("mcq", "grounded_qa") and self.options is None:
            raise _FieldError("options", f"task {self.task} needs options")
        if self.clue is not None:
            self._check_clue(self.clue)
        return self

    def _check_clue(self, clue: Clue) -> None:
        allowed = _TASK_CLUE_KINDS.get(self.task)
        if allowed is not None and clue.kind not in allowed:
            raise _FieldError("clue", f"a {self.task} sample's clue is {' or '.join(allowed)}, got {clue.kind}")
        if clue.kind in ("temporal", "tracking") and self.media.type != "video":
            raise _FieldError("clue", f"a {clue.kind} clue needs a video, got an {self.media.type}")

    @property
    def option_letters(self) -> list[str]:
        return list(OPTION_LETTERS[: len(self.options or [])])


def validation_problem(exc: ValidationError) -> tuple[str, str]:
    """(message, field path) of the first problem in a pydantic ValidationError of a Sample.

    Cross-field checks name the field they blame; the message says how many other problems the
    record has."""
    errors = exc.errors()
    first = errors[0]
    cause = (first.get("ctx") or {}).get("error")
    loc = [str(part) for part in first["loc"]]
    if isinstance(cause, _FieldError):
        message, field = str(cause), ".".join([*loc, cause.field])
    else:
        message = str(cause) if isinstance(cause, ValueError) else first["msg"]
        if first["type"] == "literal_error":
            message += f", got {first['input']!r}"
        field = ".".join(loc) or "<record>"
    if len(errors) > 1:
        message += f" (+{len(errors) - 1} more problem{'s' if len(errors) > 2 else ''} in this record)"
    return message, field


def parse_sample(record: object, *, path: str | os.PathLike = "<memory>", line: int | None = None) -> Sample:
    """Validate one decoded JSON record; DataError names path, line and the first bad field."""
    try:
        return Sample.model_validate(record)
    except ValidationError as exc:
        message, field = validation_problem(exc)
        raise DataError(message, path=str(path), line=line, field=field) from None


def read_samples(path: str | os.PathLike, *, unique_ids: bool = True) -> Iterator[Sample]:
    """Stream validated samples from a JSONL file."""
    seen: set[str] = set()
    for number, record in iter_jsonl(path):
        sample = parse_sample(record, path=path, line=number)
        if unique_ids:
            if sample.id in seen:
                raise DataError(f"duplicate id {sample.id!r}", path=str(path), line=number, field="id")
            seen.add(sample.id)
        yield sample


def sample_to_json(sample: Sample) -> str:
    return json.dumps(sample.model_dump(mode="json", exclude_none=True), ensure_ascii=False)


def write_samples(path: str | os.PathLike, samples: Iterable[Sample]) -> int:
    """Write samples as JSONL atomically; returns how many were written."""
    count = 0
    with atomic_writer(path) as handle:
        for sample in samples:
            handle.write(sample_to_json(sample) + "\n")
            count += 1
    return count
