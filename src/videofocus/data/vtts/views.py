"""What the rank stage shows the VLM: frames of a video (most of them inside the temporal clue, or at
the track's times) or an image plus crops of its clue boxes, as JPEG data URLs in chat content parts."""

from __future__ import annotations

import base64
import io
import os
from dataclasses import dataclass

import numpy as np
from PIL import Image

from videofocus.data.vtts.config import RankSettings
from videofocus.media.image import crop_box, load_image
from videofocus.media.sampling import focused_indices, uniform_indices
from videofocus.media.video import VideoInfo, probe, read_frames
from videofocus.schema import Sample

JPEG_QUALITY = 85


@dataclass(frozen=True)
class Views:
    images: list[Image.Image]
    description: str  # what each image is, for the prompt

    def content_parts(self) -> list[dict]:
        return [{"type": "image_url", "image_url": {"url": _data_url(image)}} for image in self.images]


def views_request(sample: Sample, settings: RankSettings) -> dict:
    """What decides the views, for the cache key (so a rerun need not decode media to look it up)."""
    clue = sample.clue.model_dump(mode="json", exclude_none=True) if sample.clue else None
    return {"media": sample.media.path, "clue": clue, "frames": settings.frames, "key_ratio": settings.key_ratio,
            "image_side": settings.image_side}


def sample_views(sample: Sample, media_root: str | os.PathLike | None, settings: RankSettings) -> Views:
    """The images for one sample; MediaError when its media cannot be read."""
    path = sample.media.resolve(media_root)
    if sample.media.type == "image":
        return _image_views(sample, load_image(path), settings)
    return _video_views(sample, probe(path), settings)


def _image_views(sample: Sample, image: Image.Image, settings: RankSettings) -> Views:
    boxes = sample.clue.boxes if sample.clue and sample.clue.boxes else []
    crops = [crop_box(image, box)[0] for box in boxes]
    lines = [f"Image 1 is the whole image ({image.width}x{image.height} pixels)."]
    lines += [f"Image {number} is a close-up of the clue box {_numbers(box)}."
              for number, box in enumerate(boxes, start=2)]
    return Views([_fit(picture, settings.image_side) for picture in [image, *crops]], " ".join(lines))


def _video_views(sample: Sample, info: VideoInfo, settings: RankSettings) -> Views:
    indices, where = _frame_choice(sample, info, settings)
    scale = min(1.0, settings.image_side / max(info.width, info.height))
    size = (max(1, round(info.height * scale)), max(1, round(info.width * scale)))
    clip = read_frames(info, indices, size=size)
    times = ", ".join(f"{time:.1f}" for time in clip.timestamps)
    description = (f"The images are {len(indices)} frames of a video {info.duration:.1f} s long, {where}, "
                   f"at these seconds: {times}.")
    return Views([Image.fromarray(frame) for frame in clip.frames], description)


def _frame_choice(sample: Sample, info: VideoInfo, settings: RankSettings) -> tuple[np.ndarray, str]:
    clue = sample.clue
    if clue is not None and clue.intervals:
        return (focused_indices(info, settings.frames, [tuple(span) for span in clue.intervals], settings.key_ratio),
                "mostly inside the clue interval(s)")
    if clue is not None and clue.track:
        positions = np.linspace(0, len(clue.track) - 1, min(settings.frames, len(clue.track)))
        nearest = [int(np.abs(info.frame_times - clue.track[round(k)].t).argmin()) for k in positions]
        return np.array(sorted(set(nearest))), "at the tracked times"
    return uniform_indices(info, settings.frames), "evenly spread"


def _fit(image: Image.Image, side: int) -> Image.Image:
    scale = side / max(image.width, image.height)
    if scale >= 1:
        return image
    return image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))))


def _data_url(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _numbers(values) -> str:
    return "[" + ", ".join(f"{value:g}" for value in values) + "]"
