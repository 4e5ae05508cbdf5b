"""The input settings a model was trained (and measured) with, saved next to its weights.

A model that `videofocus train`, `videofocus sft` or the demo writes holds `videofocus.json`:

    {"video_min_pixels": 4096, "video_max_pixels": 4096, "video_total_pixels": null,
     "image_min_pixels": 4096, "image_max_pixels": 4096, "num_frames": 8}

(`num_frames`, the frame budget of a perception round, only where the demo measured the model with
one). `infer`, `eval` and `serve` take these as their defaults, so `--model DIR` alone sees the frames
the model was trained on; a flag given on the command line still wins. Hub checkpoints carry no such
file and get the library's defaults (the papers' budgets)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from videofocus.errors import DataError
from videofocus.jsonfiles import read_json_object
from videofocus.storage import atomic_writer

SETTINGS_FILE = "videofocus.json"
PIXEL_KEYS = ("video_min_pixels", "video_max_pixels", "video_total_pixels", "image_min_pixels", "image_max_pixels")
KEYS = (*PIXEL_KEYS, "num_frames")


def write_model_settings(model_dir: str | os.PathLike, values: Mapping[str, Any]) -> Path:
    """Write (or update) `model_dir/videofocus.json` with `values` (keys of KEYS; None values kept)."""
    unknown = sorted(set(values) - set(KEYS))
    if unknown:
        raise ValueError(f"unknown model settings {unknown}; known: {', '.join(KEYS)}")
    path = Path(model_dir) / SETTINGS_FILE
    merged = {**read_model_settings(model_dir), **values}
    with atomic_writer(path) as handle:
        json.dump({key: merged[key] for key in KEYS if key in merged}, handle, indent=1)
    return path


def read_model_settings(path_or_id: str | os.PathLike) -> dict[str, Any]:
    """The settings saved with a local model folder ({} for a Hub id or a folder without the file).
    DataError names the file and the field when it is not what `write_model_settings` writes."""
    path = Path(path_or_id).expanduser() / SETTINGS_FILE
    if not path.is_file():
        return {}
    data = read_json_object(path)
    for key, value in data.items():
        if key not in KEYS:
            raise DataError(f"unknown setting; known: {', '.join(KEYS)}", path=str(path), field=key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise DataError(f"expected a positive integer or null, got {value!r}", path=str(path), field=key)
    return data


def with_model_settings(path_or_id: str | os.PathLike, given: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """`given` (a command's options; None = not given) with the model's saved settings filling the
    options not given. Returns the values and the names taken from the model's file."""
    saved = read_model_settings(path_or_id)
    taken = [key for key in given if given[key] is None and saved.get(key) is not None]
    return {**given, **{key: saved[key] for key in taken}}, taken
