"""GOT-10k single-object tracking (got-10k.aitestunion.com): a split folder of sequence folders
`GOT-10k_Val_000001/` holding frames `00000001.jpg …`, `groundtruth.txt` (one `x,y,w,h` box a frame,
in pixels), and `meta_info.ini` (`object_class: …`); sequences are annotated at 10 fps.

--input is the split folder (its `list.txt` gives the order when present) or one sequence folder.
Each sequence of n frames becomes one tracking sample `got10k/SEQUENCE` that keeps 8 frames, indices
round(linspace(0, n - 1, 8)) (the first and the last included): the track holds each kept frame's
time (index / 10 s) and box as [x0, y0, x1, y1] pixels, the first being the given initial box; the
question is the object class. This is not VideoChat-R1's selection: its evaluate_track.py feeds 7
frames (the first, int(i * (n - 1) / 6) for i = 1..5, and the last), which qwen-vl-utils pads to 8
by repeating the last; so the middle frames differ a little and the last frame is not doubled here.

Media: the schema's media is a video file, so a sequence is referenced as `SEQUENCE.mp4`. With
--write-videos DIR every frame of the sequence is encoded there at 10 fps (frame i at i / 10 s;
existing files are kept, so an interrupted run resumes); use DIR as the media root. Without it the
mp4 files are assumed to exist already. Odd frame sizes lose their last pixel column/row (yuv420p);
boxes are clipped to the frame. The test split publishes only the first box, so it cannot be
converted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from videofocus.data.converters.common import (ConvertOptions, Converter, Where, convert_each, make_sample,
                                               require_file, to_float)
from videofocus.data.converters.frames import encode_frames, even_size, frame_size, list_frames
from videofocus.errors import DataError
from videofocus.jsonfiles import iter_nonblank_lines
from videofocus.schema import Sample

SOURCE = "got10k"
FPS = 10.0
NUM_FRAMES = 8


def convert(options: ConvertOptions) -> Iterator[Sample]:
    source = options.source_or(SOURCE)

    def to_samples(where: Where, folder: Path) -> list[Sample]:
        frames = list_frames(folder)
        boxes = _read_boxes(require_file(folder / "groundtruth.txt", "groundtruth.txt"))
        if len(boxes) != len(frames):
            note = " (the test split withholds all but the first box)" if len(boxes) == 1 else ""
            raise where.error(f"groundtruth.txt has {len(boxes)} boxes for {len(frames)} frames{note}")
        width, height = _video_size(folder.name, frames, options)
        kept = sampled_frame_indices(len(frames), NUM_FRAMES)
        track = [{"t": index / FPS, "box": _clip_box(_corners(boxes[index]), width, height)} for index in kept]
        return [make_sample(
            where, id=f"{source}/{folder.name}", task="tracking", source=source,
            media={"type": "video", "path": options.media_path(f"{folder.name}.mp4"),
                   "duration": len(frames) / FPS, "width": width, "height": height},
            question=_object_class(folder), clue={"track": track})]

    sequences = ((Where(folder), folder) for folder in _sequence_folders(options.input))
    return convert_each(sequences, to_samples, options)


def sampled_frame_indices(num_frames: int, count: int) -> list[int]:
    """`count` frame indices spread evenly from the first frame to the last (all when fewer)."""
    return sorted({int(round(index)) for index in np.linspace(0, num_frames - 1, min(count, num_frames))})


def _sequence_folders(path: Path) -> list[Path]:
    if (path / "groundtruth.txt").is_file():
        return [path]
    if not path.is_dir():
        raise DataError("GOT-10k split or sequence folder not found", path=str(path))
    listing = path / "list.txt"
    if listing.is_file():
        return [path / text.strip() for _, text in iter_nonblank_lines(listing)]
    folders = sorted(child for child in path.iterdir() if (child / "groundtruth.txt").is_file())
    if not folders:
        raise DataError("no sequence folders (with groundtruth.txt) here", path=str(path))
    return folders


def _read_boxes(path: Path) -> list[list[float]]:
    boxes = []
    for number, text in iter_nonblank_lines(path):
        where = Where(path, line=number)
        values = [to_float(value, where, "box") for value in text.replace("\t", ",").split(",")]
        if len(values) != 4 or values[2] < 0 or values[3] < 0:
            raise where.error(f"expected 'x,y,w,h' with w, h >= 0, got {text.strip()!r}")
        boxes.append(values)
    return boxes


def _corners(box: list[float]) -> list[float]:
    x, y, w, h = box
    return [x, y, x + w, y + h]


def _clip_box(box: list[float], width: int, height: int) -> list[float]:
    x0, y0, x1, y1 = box
    return [_clamp(x0, width), _clamp(y0, height), _clamp(x1, width), _clamp(y1, height)]


def _clamp(value: float, upper: int) -> float:
    return min(max(value, 0.0), float(upper))


def _video_size(name: str, frames: list[Path], options: ConvertOptions) -> tuple[int, int]:
    """Encode the sequence when asked (once) and return the video's frame size."""
    if options.write_videos is None:
        return even_size(*frame_size(frames[0]))
    out_path = options.write_videos / f"{name}.mp4"
    if out_path.is_file():
        return even_size(*frame_size(frames[0]))
    return encode_frames(frames, FPS, out_path)


def _object_class(folder: Path) -> str:
    meta = folder / "meta_info.ini"
    if meta.is_file():
        for _, text in iter_nonblank_lines(meta):
            key, _, value = text.partition(":")
            if key.strip() == "object_class" and value.strip():
                return value.strip()
    return "the object"


CONVERTER = Converter(
    name=SOURCE,
    summary="GOT-10k sequence folders, 8 frames each",
    convert=convert,
    accepts=frozenset({"write_videos"}),
)
