"""Checking a JSONL file of samples and, optionally, the media it points to: every problem found
(up to a limit) with its file, line and field, not just the first.

Checks: each line is a JSON object and a valid Sample; ids are unique; clues lie inside the media
as the sample declares it (duration, width, height). With `check_media`: each media file exists and
decodes (a video's first frame and its last keyframe run, a whole image), a video's frames last as
long as its header says (a file cut short fails here, not in the middle of an evaluation), its real
duration and size match what the sample declares, and the clues lie inside the real video/image."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import av
from PIL import Image, UnidentifiedImageError

from videofocus.errors import DataError, VideoFocusError
from videofocus.jsonfiles import decode_jsonl_line, iter_nonblank_lines
from videofocus.schema import Clue, Sample, parse_sample

# Annotated times vs a container's duration, and box corners vs the frame edge, differ by rounding.
TIME_TOLERANCE_S = 0.5
PIXEL_TOLERANCE = 1.0
EXIF_ORIENTATION = 274
_TRANSPOSED_ORIENTATIONS = {5, 6, 7, 8}  # EXIF orientations that swap width and height


@dataclass(frozen=True)
class MediaFacts:
    """What a media file really is: duration (None for images), display width and height."""

    duration: float | None
    width: int
    height: int


@dataclass
class ValidationReport:
    path: Path
    max_errors: int
    lines: int = 0              # non-blank lines checked
    samples: int = 0            # lines that parse as a sample
    lines_with_errors: int = 0  # lines with at least one error (bad samples and unparsable lines)
    error_count: int = 0
    errors: list[DataError] = field(default_factory=list)  # the first `max_errors`

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def add(self, error: DataError) -> None:
        self.error_count += 1
        if len(self.errors) < self.max_errors:
            self.errors.append(error)

    def summary(self) -> str:
        """Counts that add up: lines with errors + lines without = lines."""
        if self.ok:
            return f"{self.samples} samples OK"
        return (f"{self.lines_with_errors} of {self.lines} line(s) with errors ({self.error_count} error(s) in all), "
                f"{self.lines - self.lines_with_errors} OK")


def validate_file(path: str | os.PathLike, *, media_root: str | os.PathLike | None = None,
                  check_media: bool = False, max_errors: int = 50) -> ValidationReport:
    """Check every line of a samples JSONL file; media paths resolve against `media_root`
    (default: the file's folder)."""
    path = Path(path)
    report = ValidationReport(path=path, max_errors=max_errors)
    media = MediaChecker(Path(media_root) if media_root is not None else path.parent) if check_media else None
    first_line_of: dict[str, int] = {}
    for number, text in iter_nonblank_lines(path):
        report.lines += 1
        errors_before = report.error_count
        _check_line(report, number, text, media, first_line_of)
        report.lines_with_errors += report.error_count > errors_before
    if not report.lines:
        report.add(DataError("the file holds no samples (no non-blank line)", path=str(path)))
    return report


def _check_line(report: ValidationReport, number: int, text: str, media: MediaChecker | None,
                first_line_of: dict[str, int]) -> None:
    path = report.path
    try:
        sample = parse_sample(decode_jsonl_line(text, path=path, line=number), path=path, line=number)
    except DataError as error:
        report.add(error)
        return
    report.samples += 1
    if sample.id in first_line_of:
        report.add(DataError(f"duplicate id {sample.id!r} (first on line {first_line_of[sample.id]})",
                             path=str(path), line=number, field="id"))
    first_line_of.setdefault(sample.id, number)
    for message, field_name in _sample_problems(sample, media):
        report.add(DataError(message, path=str(path), line=number, field=field_name))


def _sample_problems(sample: Sample, media: MediaChecker | None) -> list[tuple[str, str]]:
    declared = sample.media
    problems = clue_problems(sample.clue, declared.duration, declared.width, declared.height, "as declared")
    if media is None:
        return problems
    facts = media.facts(sample)
    if isinstance(facts, str):
        return [*problems, (facts, "media.path")]
    problems += _declared_vs_real(sample, facts)
    problems += clue_problems(sample.clue, facts.duration, facts.width, facts.height, "in the media file")
    return problems


def clue_problems(clue: Clue | None, duration: float | None, width: int | None, height: int | None,
                  context: str) -> list[tuple[str, str]]:
    """(message, field) for each part of a clue that lies outside [0, duration] x [0, width] x [0, height];
    an interval only when it starts outside (annotated ends often overshoot the video)."""
    if clue is None:
        return []
    problems = []
    for index, (start, end) in enumerate(clue.intervals or []):
        # Ends past the video are how benchmarks annotate (and score) them; a start past it is wrong.
        if duration is not None and start > duration + TIME_TOLERANCE_S:
            problems.append((f"interval [{start}, {end}] starts after the video ({duration:.2f} s {context})",
                             f"clue.intervals.{index}"))
    for index, box in enumerate(clue.boxes or []):
        problems += _box_problems(box, width, height, context, f"clue.boxes.{index}")
    for index, point in enumerate(clue.track or []):
        if duration is not None and point.t > duration + TIME_TOLERANCE_S:
            problems.append((f"track time {point.t} is after the video ({duration:.2f} s {context})",
                             f"clue.track.{index}.t"))
        problems += _box_problems(point.box, width, height, context, f"clue.track.{index}.box")
    return problems


def _box_problems(box: list[float], width: int | None, height: int | None, context: str,
                  field_name: str) -> list[tuple[str, str]]:
    x0, y0, x1, y1 = box
    outside = (min(x0, y0) < -PIXEL_TOLERANCE
               or (width is not None and x1 > width + PIXEL_TOLERANCE)
               or (height is not None and y1 > height + PIXEL_TOLERANCE))
    if not outside:
        return []
    return [(f"box {box} lies outside the {width}x{height} frame ({context})", field_name)]


def _declared_vs_real(sample: Sample, facts: MediaFacts) -> list[tuple[str, str]]:
    declared, problems = sample.media, []
    if declared.duration is not None and facts.duration is not None \
            and abs(declared.duration - facts.duration) > TIME_TOLERANCE_S:
        problems.append((f"declared duration {declared.duration} s but the video lasts {facts.duration:.2f} s",
                         "media.duration"))
    for name in ("width", "height"):
        if getattr(declared, name) is not None and getattr(declared, name) != getattr(facts, name):
            problems.append((f"declared {name} {getattr(declared, name)} but the file's is {getattr(facts, name)}",
                             f"media.{name}"))
    return problems


class MediaChecker:
    """Opens each distinct media file once; `facts(sample)` is its MediaFacts, or a message saying
    why it cannot be read."""

    def __init__(self, media_root: Path):
        self.media_root = media_root
        self._cache: dict[tuple[str, Path], MediaFacts | str] = {}

    def facts(self, sample: Sample) -> MediaFacts | str:
        try:
            key = (sample.media.type, sample.media.resolve(self.media_root))
        except DataError as error:
            return str(error)
        if key not in self._cache:
            self._cache[key] = self._read(*key)
        return self._cache[key]

    def _read(self, media_type: str, path: Path) -> MediaFacts | str:
        if not path.is_file():
            return f"media file not found: {path}"
        try:
            return read_video_facts(path) if media_type == "video" else read_image_facts(path)
        except (VideoFocusError, av.error.FFmpegError) as exc:
            return f"cannot read {media_type} {path}: {exc}"


def read_video_facts(path: Path) -> MediaFacts:
    """Probe a video, check that its frames last as long as its header says, and decode its first
    frame and its last keyframe run, where a file cut short breaks (DataError / MediaError)."""
    from videofocus.media.video import probe, read_frames  # decoding stack only when media is checked

    info = probe(path)
    if info.num_frames < 1:
        raise DataError("the video has no frames", path=str(path))
    if info.header_duration is not None and info.header_duration > info.duration + TIME_TOLERANCE_S:
        raise DataError(f"truncated: the header says {info.header_duration:.2f} s but the frames end at "
                        f"{info.duration:.2f} s", path=str(path))
    read_frames(info, [0, info.num_frames - 1])
    return MediaFacts(duration=float(info.duration), width=int(info.width), height=int(info.height))


def read_image_facts(path: Path) -> MediaFacts:
    """Decode an image; its size as displayed (EXIF rotation applied), as the models see it."""
    try:
        with Image.open(path) as image:
            image.load()
            width, height = image.size
            if image.getexif().get(EXIF_ORIENTATION) in _TRANSPOSED_ORIENTATIONS:
                width, height = height, width
    except (UnidentifiedImageError, OSError) as exc:
        raise DataError(f"not a readable image ({exc})", path=str(path)) from None
    return MediaFacts(duration=None, width=width, height=height)
