"""Small JPEG previews of what a round showed the model, as data URLs, for the web page: the
sampled frames of a video round (at most `max_frames`, spread over the round), or the full image
of an image question (the page draws the boxes and crops over it)."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

from videofocus.media.image import load_image
from videofocus.media.video import probe, read_frames
from videofocus.perception import View
from videofocus.schema import Sample


def frame_previews(sample: Sample, view: View, *, max_frames: int = 16, width: int = 160) -> list[dict]:
    """[{"t": seconds, "index": frame index, "url": data URL}] for up to `max_frames` of the view's
    frames (a video view; an image view has none)."""
    if view.media_type != "video" or not view.frame_indices:
        return []
    picks = np.unique(np.linspace(0, len(view.frame_indices) - 1, min(max_frames, len(view.frame_indices))).round()
                      .astype(int))
    info = probe(sample.media.path)
    height = max(2, round(info.height * width / info.width))
    clip = read_frames(info, [view.frame_indices[pick] for pick in picks], size=(height, width))
    return [{"t": view.timestamps[pick], "index": view.frame_indices[pick], "url": _data_url(Image.fromarray(frame))}
            for pick, frame in zip(picks, clip.frames)]


def image_preview(sample: Sample, *, width: int = 480) -> str | None:
    """The question's image scaled to `width` (None for a video)."""
    if sample.media.type != "image":
        return None
    image = load_image(sample.media.path)
    image.thumbnail((width, width * 4))
    return _data_url(image)


def _data_url(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
