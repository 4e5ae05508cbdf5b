"""Contact sheets: a clip's frames in a grid, each labelled with its time, saved as PNG."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from videofocus.errors import MediaError
from videofocus.media.video import Clip
from videofocus.storage import atomic_writer

_BACKGROUND = (24, 24, 24)
_LABEL_BAR = (0, 0, 0)
_LABEL_TEXT = (255, 255, 255)
_PAD = 4


def contact_sheet(clip: Clip, path: str | os.PathLike, *, columns: int | None = None,
                  thumb_width: int = 256) -> Path:
    """Write `clip`'s frames as a grid PNG at `path` (atomically), each thumbnail labelled with its
    time in seconds and frame index. `columns` defaults to a near-square grid. Raises MediaError
    when `path` names a folder or cannot be written."""
    path = _sheet_file(path)
    count = len(clip.frames)
    if count == 0:
        raise ValueError("a contact sheet needs at least one frame")
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    frame_h, frame_w = clip.frames.shape[1:3]
    thumb_h = max(1, round(frame_h * thumb_width / frame_w))
    font = ImageFont.load_default(size=max(10, thumb_width // 14))
    sheet = Image.new("RGB", (columns * (thumb_width + _PAD) + _PAD, rows * (thumb_h + _PAD) + _PAD),
                      _BACKGROUND)
    for k, (frame, time, index) in enumerate(zip(clip.frames, clip.timestamps, clip.indices)):
        thumb = _labelled(frame, (thumb_width, thumb_h), f"{time:.2f}s  #{int(index)}", font)
        row, column = divmod(k, columns)
        sheet.paste(thumb, (_PAD + column * (thumb_width + _PAD), _PAD + row * (thumb_h + _PAD)))
    try:
        with atomic_writer(path, "wb") as handle:
            sheet.save(handle, format="PNG")
    except OSError as exc:  # e.g. a parent folder that cannot be created
        reason = f"{exc.strerror}: {exc.filename}" if exc.strerror and exc.filename else str(exc)
        raise MediaError(f"{path}: cannot write the contact sheet ({reason})") from exc
    return path


def _sheet_file(path: str | os.PathLike) -> Path:
    """`path` as the file to write; MediaError when it names a folder (Path drops a trailing "/",
    which would otherwise write a file named after the folder)."""
    text = os.fspath(path)
    if text.endswith(("/", os.sep)) or Path(text).is_dir():
        raise MediaError(f"{text}: is a folder; the contact sheet needs a file name, "
                         f"e.g. {Path(text) / 'sheet.png'}")
    return Path(text)


def _labelled(frame: np.ndarray, size: tuple[int, int], label: str, font) -> Image.Image:
    thumb = Image.fromarray(frame).resize(size, Image.Resampling.BILINEAR)
    draw = ImageDraw.Draw(thumb)
    left, top, right, bottom = draw.textbbox((0, 0), label, font=font)
    bar_h = bottom - top + 2 * _PAD
    draw.rectangle((0, size[1] - bar_h, right - left + 2 * _PAD, size[1]), fill=_LABEL_BAR)
    draw.text((_PAD - left, size[1] - bar_h + _PAD - top), label, font=font, fill=_LABEL_TEXT)
    return thumb
