"""Input settings for commands that load a model: a flag given wins, then the model's own
`videofocus.json` (`videofocus.models.saved_settings`), then the library's defaults."""

from __future__ import annotations

from typing import Any

from videofocus.cli.app import console
from videofocus.media.budget import VIDEO_MAX_PIXELS, VIDEO_MIN_PIXELS
from videofocus.media.image import IMAGE_MAX_PIXELS, IMAGE_MIN_PIXELS
from videofocus.models.saved_settings import SETTINGS_FILE, with_model_settings

LIBRARY_PIXELS = {"video_min_pixels": VIDEO_MIN_PIXELS, "video_max_pixels": VIDEO_MAX_PIXELS,
                  "video_total_pixels": None, "image_min_pixels": IMAGE_MIN_PIXELS,
                  "image_max_pixels": IMAGE_MAX_PIXELS}


def model_input_defaults(model: str, *, num_frames: int | None, fps: float | None,
                         **pixels: int | None) -> tuple[dict[str, Any], int | None]:
    """(pixel limits, frame budget) for `model`: each pixel limit not given (None) comes from the
    model's videofocus.json, else LIBRARY_PIXELS; the frame budget from the file only when neither
    --num-frames nor --fps was given. Says on the console what it took from the file."""
    given = {**pixels, **({"num_frames": num_frames} if fps is None else {})}
    values, taken = with_model_settings(model, given)
    if taken:
        console.print(f"from {model}/{SETTINGS_FILE}: " + ", ".join(f"{key} {values[key]}" for key in taken),
                      highlight=False)
    resolved = {key: values[key] if values[key] is not None else LIBRARY_PIXELS[key] for key in LIBRARY_PIXELS}
    return resolved, values.get("num_frames", num_frames)
