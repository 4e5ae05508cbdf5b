"""Small annotation samples and JSONL files for the metrics tests."""

from __future__ import annotations

import json
from pathlib import Path

from videofocus.schema import Sample

OPTIONS = ["a cat", "a dog", "a bird", "a fish"]


def temporal_sample(id: str, intervals: list[list[float]], *, duration: float = 30.0) -> Sample:
    return Sample.model_validate({
        "id": id, "task": "temporal_grounding", "question": "when?",
        "media": {"type": "video", "path": f"{id}.mp4", "duration": duration},
        "clue": {"intervals": intervals}})


def grounded_qa_sample(id: str, answer: str, intervals: list[list[float]] | None) -> Sample:
    return Sample.model_validate({
        "id": id, "task": "grounded_qa" if intervals else "mcq", "question": "what?", "options": OPTIONS,
        "answer": answer, "media": {"type": "video", "path": f"{id}.mp4", "duration": 30.0},
        "clue": {"intervals": intervals} if intervals else None})


def mcq_sample(id: str, answer: str, *, source: str | None = None) -> Sample:
    return Sample.model_validate({
        "id": id, "task": "mcq", "question": "what?", "options": OPTIONS, "answer": answer,
        "media": {"type": "video", "path": f"{id}.mp4"}, "source": source})


def track_sample(id: str, boxes: list[list[float]], *, width: int | None = 100,
                 height: int | None = 100) -> Sample:
    return Sample.model_validate({
        "id": id, "task": "tracking", "question": "track it",
        "media": {"type": "video", "path": f"{id}.mp4", "width": width, "height": height},
        "clue": {"track": [{"t": 0.5 * index, "box": box} for index, box in enumerate(boxes)]}})


def box_sample(id: str, boxes: list[list[float]]) -> Sample:
    return Sample.model_validate({
        "id": id, "task": "spatial_grounding", "question": "find it",
        "media": {"type": "image", "path": f"{id}.jpg", "width": 640, "height": 480},
        "clue": {"boxes": boxes}})


def write_jsonl(path: Path, records: list[dict | str]) -> Path:
    """One line per record; strings are written as they are (for malformed lines)."""
    lines = [record if isinstance(record, str) else json.dumps(record) for record in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_samples_jsonl(path: Path, samples: list[Sample]) -> Path:
    return write_jsonl(path, [sample.model_dump(mode="json", exclude_none=True) for sample in samples])


def highlight_sample(id: str, intervals: list[list[float]], *, duration: float = 10.0,
                     clip_ids: list[int] | None = None, scores: list[list[float]] | None = None) -> Sample:
    """A QVHighlights query: moment windows plus 2 s clip saliency by 3 annotators."""
    saliency = {"clip_length": 2.0, "clip_ids": clip_ids or [0], "scores": scores or [[4, 4, 4]]}
    return Sample.model_validate({
        "id": id, "task": "temporal_grounding", "question": "when?",
        "media": {"type": "video", "path": f"{id}.mp4", "duration": duration},
        "clue": {"intervals": intervals, "saliency": saliency}})
