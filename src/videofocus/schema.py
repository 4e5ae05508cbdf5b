"""The one sample format (SPEC: "The one sample format"): pydantic models, JSONL reading that names
file, line and field on error, and atomic JSONL writing.

A sample's annotations decide which rewards and metrics apply to it: a missing clue means no clue
reward, a missing answer means no accuracy reward ("dynamic reward selection")."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from videofocus.errors import DataError

TASKS = ("temporal_grounding", "grounded_qa", "tracking", "spatial_grounding", "mcq", "caption",
         "classification")
Task = Literal["temporal_grounding", "grounded_qa", "tracking", "spatial_grounding", "mcq", "caption",
               "classification"]
OPTION_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Media(_Strict):
    type: Literal["video", "image"]
    path: str = Field(min_length=1)
    duration: float | None = Field(default=None, ge=0)
    width: int | None = Field(default=None, gt=0)
    height: int | None = Field(default=None, gt=0)

    def resolve(self, media_root: str | os.PathLike | None) -> Path:
        """The media file's path: absolute as given, else relative to `media_root`."""
        path = Path(self.path)
        if path.is_absolute() or media_root is None:
            return path
        return Path(media_root) / path


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


class Clue(_Strict):
    """Where the evidence is: time intervals (s), boxes (original pixels) or a track."""

    intervals: list[tuple[float, float]] | None = None
    boxes: list[list[float]] | None = None
    track: list[TrackPoint] | None = None

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
        return self

    @property
    def kind(self) -> str:
        return "temporal" if self.intervals else "spatial" if self.boxes else "tracking"


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

    @model_validator(mode="after")
    def _consistent(self):
        if self.options is not None:
            if len(self.options) < 2 or len(self.options) > len(OPTION_LETTERS):
                raise ValueError(f"options must list 2..{len(OPTION_LETTERS)} texts, got {len(self.options)}")
            if self.answer is not None and self.answer not in self.option_letters:
                raise ValueError(f"answer {self.answer!r} is not one of the option letters {''.join(self.option_letters)}")
        if self.task in ("mcq", "grounded_qa") and self.options is None:
            raise ValueError(f"task {self.task} needs options")
        if self.task == "tracking" and self.clue is not None and self.clue.track is None:
            raise ValueError("a tracking sample's clue is a track")
        if self.task == "spatial_grounding" and self.clue is not None and self.clue.boxes is None:
            raise ValueError("a spatial grounding sample's clue is boxes")
        if self.clue is not None and self.clue.intervals and self.media.type != "video":
            raise ValueError("time intervals need a video")
        return self

    @property
    def option_letters(self) -> list[str]:
        return list(OPTION_LETTERS[: len(self.options or [])])


def _field_path(error: dict) -> str:
    return ".".join(str(part) for part in error["loc"]) or "<record>"


def parse_sample(record: object, *, path: str | os.PathLike = "<memory>", line: int | None = None) -> Sample:
    """Validate one decoded JSON record; DataError names path, line and the first bad field."""
    try:
        return Sample.model_validate(record)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise DataError(first["msg"], path=str(path), line=line, field=_field_path(first)) from None


def iter_jsonl(path: str | os.PathLike) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-blank line; DataError on a line that is not a JSON object."""
    path = Path(path)
    if not path.is_file():
        raise DataError("file not found", path=str(path))
    with path.open(encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as exc:
                raise DataError(f"not valid JSON ({exc.msg} at column {exc.colno})", path=str(path),
                                line=number) from None
            if not isinstance(record, dict):
                raise DataError("each line must be a JSON object", path=str(path), line=number)
            yield number, record


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


@contextmanager
def atomic_writer(path: str | os.PathLike, mode: str = "w"):
    """Open a temporary file beside `path`; rename it over `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(mode, dir=path.parent, prefix=f".{path.name}.", suffix=".tmp",
                                         delete=False, encoding=None if "b" in mode else "utf-8")
    try:
        with handle:
            yield handle
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def write_samples(path: str | os.PathLike, samples: Iterable[Sample]) -> int:
    """Write samples as JSONL atomically; returns how many were written."""
    count = 0
    with atomic_writer(path) as handle:
        for sample in samples:
            handle.write(sample_to_json(sample) + "\n")
            count += 1
    return count
