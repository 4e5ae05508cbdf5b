"""Settings of the synthetic world: one frozen dataclass, named difficulty presets, overrides.

Every knob that makes the world harder for a small model is a field here, so a benchmark can
name a preset and change one thing (`make_settings("hard", fps=2.0)`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from videofocus.errors import ConfigError

SPLITS = ("train", "test")  # train labels get the settings' label_jitter; test labels are exact


@dataclass(frozen=True)
class SynthSettings:
    """What the generated videos, images and questions look like.

    Media
      size: width = height of video frames (px, even: yuv420p).
      fps: frame rate of the videos; every event starts and ends on a frame.
      duration: video length (s); the video has round(duration * fps) frames.
      image_size: width = height of the images (spatial grounding).
      background, noise: grey level of the background and the std of its per-pixel grey noise.
      fresh_noise: draw new noise every frame (else one noise pattern per video; fresh noise
        makes encoding ~3x slower and files ~10x larger).
      shape_size: (min, max) side (px) of the small shapes' bounding squares.
      crf: libx264 quality (lower = closer to the rendered pixels).
    Events
      min_event, max_event: (s) shortest and longest single appearance of an object.
      min_gap: (s) shortest time between two appearances of the same object.
      max_repeats: most appearances of one object (ordinal, relational and counting questions).
    Difficulty
      distractors: (min, max) number of extra objects the question is not about.
      similar_distractors: distractors share the colour or the shape of the queried object.
      ordinal_share, relational_share: shares of temporal-grounding questions that ask for the
        k-th appearance ("the second time ...") or relate two objects ("after the blue square
        disappears"); the rest ask for a single appearance.
      waypoints: a tracked object moves along a polyline through this many random points.
      label_jitter: (s) uniform noise added to each interval boundary of TRAIN split labels only.
      fixed_option_order: colour and shape options are listed in one fixed order (the palette's,
        the shapes') instead of shuffled, so the letter of a colour or shape depends only on which
        others are offered.
      rationales: every multiple-choice question comes with a one-sentence rationale (the sample's
        `think`, e.g. "The big yellow square turns blue.") naming what its answer rests on, so that
        SFT teaches a model to say what it sees before it picks a letter. Without one a small model
        trained from scratch never learns to tie a colour it sees to the letter of its name
        (benchmarks/RESULTS.md, "Learning").
    Brief evidence (grounded QA whose answer is visible only briefly inside a long anchor event)
      brief_share: share of grounded-QA samples that are brief-evidence questions.
      anchor_duration, flash_duration: (s) ranges of the anchor event and of the colour flash.
      anchor_scale: side of the anchor square as a share of the frame size.
      round1_frames: frame budget of round 1 (uniform over the whole video): the flash is placed
        so that these frames never show it.
      key_ratio: share of that budget re-sampled inside the clue in round 2: the flash is placed so
        that these frames, spread uniformly over the anchor, always show it.
    Tracking
      track_frames: frames per tracking sample, spread uniformly over the video.
    """

    size: int = 56
    fps: float = 2.0
    duration: float = 8.0
    image_size: int = 56
    background: int = 128
    noise: float = 12.0
    fresh_noise: bool = False
    shape_size: tuple[int, int] = (10, 16)
    crf: int = 18
    min_event: float = 1.0
    max_event: float = 4.0
    min_gap: float = 1.0
    max_repeats: int = 3
    distractors: tuple[int, int] = (0, 0)
    similar_distractors: bool = False
    ordinal_share: float = 0.0
    relational_share: float = 0.0
    waypoints: int = 2
    label_jitter: float = 0.0
    fixed_option_order: bool = False
    rationales: bool = True
    brief_share: float = 0.5
    anchor_duration: tuple[float, float] = (3.0, 4.0)
    flash_duration: tuple[float, float] = (0.5, 1.0)
    anchor_scale: float = 0.5
    round1_frames: int = 8
    key_ratio: float = 0.5
    track_frames: int = 8

    def __post_init__(self) -> None:
        for problem in _problems(self):
            raise ConfigError(f"synth settings: {problem}")

    @property
    def num_frames(self) -> int:
        return round(self.duration * self.fps)

    def frames(self, seconds: float) -> int:
        """A duration in seconds as a whole number of frames (at least 1)."""
        return max(1, round(seconds * self.fps))

    def to_json(self) -> dict[str, Any]:
        return {name: list(value) if isinstance(value, tuple) else value
                for name, value in dataclasses.asdict(self).items()}


def _problems(s: SynthSettings) -> list[str]:
    problems = []
    if s.size < 16 or s.size % 2:
        problems.append(f"size must be an even number >= 16, got {s.size}")
    if s.image_size < 16:
        problems.append(f"image_size must be >= 16, got {s.image_size}")
    if s.fps <= 0 or s.duration <= 0:
        problems.append(f"fps and duration must be positive, got fps={s.fps} duration={s.duration}")
    elif s.num_frames < max(8, s.track_frames, s.round1_frames):
        problems.append(f"duration * fps gives {s.num_frames} frames; at least "
                        f"{max(8, s.track_frames, s.round1_frames)} are needed")
    if not 0 <= s.background <= 255 or s.noise < 0:
        problems.append("background must lie in 0..255 and noise must be >= 0")
    for name in ("shape_size", "distractors", "anchor_duration", "flash_duration"):
        low, high = getattr(s, name)
        if low > high or low < 0:
            problems.append(f"{name} must be a (min, max) pair with 0 <= min <= max, got {(low, high)}")
    if s.shape_size[0] < 6 or s.shape_size[1] > min(s.size, s.image_size) // 2:
        problems.append(f"shape_size must lie within 6..{min(s.size, s.image_size) // 2} px, got {s.shape_size}")
    if not 0 < s.min_event <= s.max_event or s.min_gap <= 0:
        problems.append("need 0 < min_event <= max_event and min_gap > 0")
    if s.max_repeats < 2:
        problems.append(f"max_repeats must be >= 2, got {s.max_repeats}")
    for name in ("ordinal_share", "relational_share", "brief_share", "key_ratio"):
        if not 0 <= getattr(s, name) <= 1:
            problems.append(f"{name} must lie in [0, 1], got {getattr(s, name)}")
    if s.ordinal_share + s.relational_share > 1:
        problems.append("ordinal_share + relational_share must be <= 1")
    if not 0.2 <= s.anchor_scale <= 0.8:
        problems.append(f"anchor_scale must lie in [0.2, 0.8], got {s.anchor_scale}")
    if s.waypoints < 2 or s.track_frames < 2 or s.round1_frames < 2 or s.label_jitter < 0 or s.crf < 0:
        problems.append("waypoints, track_frames and round1_frames must be >= 2; label_jitter and crf >= 0")
    return problems


PRESETS: dict[str, SynthSettings] = {
    # One shape on noisy grey, 16 frames at 2 fps, 56x56 (the SPEC's measured tiny-model setting);
    # options in a fixed order.
    "easy": SynthSettings(fixed_option_order=True),
    # Distractors that look alike, ordinal and relational queries, 32 frames, noisy train labels.
    "medium": SynthSettings(duration=16.0, distractors=(1, 2), similar_distractors=True,
                            ordinal_share=0.25, relational_share=0.25, waypoints=3, label_jitter=0.5),
    # Longer video at low fps, more and smaller look-alike distractors, more noise.
    "hard": SynthSettings(duration=32.0, fps=1.0, noise=18.0, shape_size=(8, 14), min_event=2.0,
                          max_event=6.0, min_gap=2.0, distractors=(2, 4), similar_distractors=True,
                          ordinal_share=0.3, relational_share=0.4, waypoints=4, label_jitter=1.0),
}


def split_label_jitter(settings: SynthSettings, split: str) -> float:
    """Seconds of noise on each interval end of `split`'s labels: the settings' label_jitter for
    train, 0 for test (exact labels)."""
    return settings.label_jitter if split == "train" else 0.0


def make_settings(difficulty: str = "easy", **overrides: Any) -> SynthSettings:
    """The named preset with some fields replaced; ConfigError names an unknown preset or field."""
    if difficulty not in PRESETS:
        raise ConfigError(f"unknown difficulty {difficulty!r}; choose one of {', '.join(PRESETS)}")
    fields = {field.name: field for field in dataclasses.fields(SynthSettings)}
    unknown = sorted(set(overrides) - set(fields))
    if unknown:
        raise ConfigError(f"unknown synth setting(s) {', '.join(unknown)}; known: {', '.join(fields)}")
    values = {name: _coerce(name, value, getattr(PRESETS[difficulty], name)) for name, value in overrides.items()}
    return dataclasses.replace(PRESETS[difficulty], **values)


def _coerce(name: str, value: Any, default: Any) -> Any:
    """Give an override the type of the preset's value; ConfigError if it cannot have it."""
    if isinstance(default, tuple):
        if isinstance(value, (list, tuple)) and len(value) == len(default):
            return tuple(_coerce(name, part, item) for item, part in zip(default, value, strict=True))
    elif isinstance(default, bool):
        if isinstance(value, bool):
            return value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(default, float):
            return float(value)
        if value == int(value):
            return int(value)
    raise ConfigError(f"synth setting {name} must look like {default!r}, got {value!r}")
