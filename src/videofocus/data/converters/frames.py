"""Datasets distributed as folders of frames (GOT-10k, MVBench's TVQA task): list the frames and
encode them as an mp4 the rest of videofocus can read, one frame at a time.

`media.encode.write_video` takes the whole clip as one array; a GOT-10k sequence can hold a
thousand 1080p frames (gigabytes), so this encoder streams instead."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

from videofocus.errors import DataError
from videofocus.storage import atomic_writer

FRAME_SUFFIXES = (".jpg", ".jpeg", ".png")


def list_frames(folder: Path) -> list[Path]:
    """The image files of a frame folder in name order (names are zero-padded frame numbers)."""
    if not folder.is_dir():
        raise DataError("frame folder not found", path=str(folder))
    frames = sorted(path for path in folder.iterdir() if path.suffix.lower() in FRAME_SUFFIXES)
    if not frames:
        raise DataError("frame folder holds no .jpg/.png frames", path=str(folder))
    return frames


def frame_size(frame: Path) -> tuple[int, int]:
    """(width, height) of an image file, read from its header."""
    with Image.open(frame) as image:
        return image.size


def even_size(width: int, height: int) -> tuple[int, int]:
    """The size an encoded video has: yuv420p needs even sides, so odd ones lose their last pixel
    (on the right/bottom, which leaves every coordinate in place)."""
    return width - width % 2, height - height % 2


def encode_frames(frames: list[Path], fps: float, out_path: Path) -> tuple[int, int]:
    """Encode image files as an H.264 mp4 at a constant `fps` (frame i at i / fps seconds), written
    atomically; returns the video's (width, height). Every frame is cropped to the first's even size."""
    width, height = even_size(*frame_size(frames[0]))
    with atomic_writer(out_path, "wb") as handle, av.open(handle, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "veryfast"}
        for frame_path in frames:
            pixels = _read_rgb(frame_path)
            if pixels.shape[0] < height or pixels.shape[1] < width:
                raise DataError(f"frame is {pixels.shape[1]}x{pixels.shape[0]}, smaller than the first frame "
                                f"({width}x{height})", path=str(frame_path))
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels[:height, :width]), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return width, height


def _read_rgb(path: Path) -> np.ndarray:
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    except OSError as exc:
        raise DataError(f"cannot read frame: {exc}", path=str(path)) from None
