"""Captions for the verify and reason stages (`--captions`): JSONL, one object a line.

`{"media": "3MSZA.mp4", "caption": "..."}` captions a video or image for every sample showing it;
`{"id": "charades_sta/3MSZA#0", "caption": "...", "clue_caption": "..."}` captions one sample, and
`clue_caption` says what that sample's clue (its interval or box) shows. A sample's own line wins
over its media's line."""

from __future__ import annotations

import os
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from videofocus.errors import DataError
from videofocus.jsonfiles import iter_jsonl
from videofocus.schema import Sample


class _CaptionLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(default=None, min_length=1)
    media: str | None = Field(default=None, min_length=1)
    caption: str | None = Field(default=None, min_length=1)
    clue_caption: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _keyed(self):
        if (self.id is None) == (self.media is None):
            raise ValueError("a caption line names exactly one of id (a sample) or media (a file)")
        if self.media is not None and self.clue_caption is not None:
            raise ValueError("clue_caption belongs to one sample: key its line by id")
        if self.caption is None and self.clue_caption is None:
            raise ValueError("a caption line needs caption and/or clue_caption")
        return self


@dataclass(frozen=True)
class Captions:
    """What is known about one sample: the whole media's caption and its clue's description."""

    caption: str | None = None
    clue_caption: str | None = None


@dataclass
class CaptionIndex:
    by_id: dict[str, _CaptionLine]
    by_media: dict[str, str]

    def for_sample(self, sample: Sample) -> Captions:
        own = self.by_id.get(sample.id)
        caption = (own.caption if own else None) or self.by_media.get(sample.media.path)
        return Captions(caption=caption, clue_caption=own.clue_caption if own else None)


def read_captions(paths: list[str | os.PathLike]) -> CaptionIndex:
    """Read caption files; DataError names file, line and field for a bad or repeated line."""
    index = CaptionIndex(by_id={}, by_media={})
    for path in paths:
        for number, record in iter_jsonl(path):
            try:
                line = _CaptionLine.model_validate(record)
            except ValidationError as exc:
                first = exc.errors()[0]
                field = ".".join(str(part) for part in first["loc"]) or None
                raise DataError(first["msg"], path=str(path), line=number, field=field) from None
            if line.id is not None:
                _put(index.by_id, line.id, line, path, number, "id")
            else:
                _put(index.by_media, line.media, line.caption, path, number, "media")
    return index


def _put(table: dict, key: str, value, path, number: int, field: str) -> None:
    if key in table:
        raise DataError(f"a second caption for {field} {key!r}", path=str(path), line=number, field=field)
    table[key] = value
