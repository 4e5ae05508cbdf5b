"""Helpers for the data tests: write source files and sample files, make tiny media."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from videofocus.data.converters import ConvertOptions, get_converter, run_conversion
from videofocus.media.encode import write_video


def write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def write_json(path: Path, document: object) -> Path:
    return write_text(path, json.dumps(document))


def write_jsonl(path: Path, records: list[object]) -> Path:
    return write_text(path, "".join(json.dumps(record) + "\n" for record in records))


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def convert(name: str, tmp_path: Path, **options) -> list[dict]:
    """Run converter `name` into tmp_path/out.jsonl and return the written records."""
    output = tmp_path / "out.jsonl"
    run_conversion(get_converter(name), ConvertOptions(**options), output)
    return read_jsonl(output)


def sample_record(**overrides) -> dict:
    """A valid temporal grounding sample as a JSON record, with fields overridden."""
    record = {"id": "s0", "task": "temporal_grounding",
              "media": {"type": "video", "path": "v.mp4", "duration": 10.0},
              "question": "a red square appears", "clue": {"intervals": [[1.0, 3.0]]}, "source": "synth"}
    record.update(overrides)
    return record


def mcq_record(**overrides) -> dict:
    record = {"id": "q0", "task": "mcq", "media": {"type": "video", "path": "v.mp4"},
              "question": "what colour?", "options": ["red", "blue"], "answer": "A"}
    record.update(overrides)
    return record


def make_video(path: Path, *, frames: int = 10, fps: float = 5.0, width: int = 32, height: int = 24) -> Path:
    """A short constant-fps test video whose frames get brighter."""
    pixels = np.zeros((frames, height, width, 3), dtype=np.uint8)
    pixels += np.arange(frames, dtype=np.uint8)[:, None, None, None] * 20
    return write_video(path, pixels, fps)


def make_image(path: Path, width: int = 40, height: int = 30, *, exif_orientation: int | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", (width, height), (200, 50, 50))
    exif = Image.Exif()
    if exif_orientation is not None:
        exif[274] = exif_orientation
    image.save(path, exif=exif)
    return path
