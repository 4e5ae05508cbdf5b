"""What an evaluation run is: the benchmark, the rounds reported, the perception and decoding
settings. Everything here goes into run.json, and a rerun into the same folder must match it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from videofocus.errors import ConfigError
from videofocus.media.budget import VIDEO_MAX_PIXELS, VIDEO_MIN_PIXELS
from videofocus.media.image import IMAGE_MAX_PIXELS, IMAGE_MIN_PIXELS
from videofocus.metrics import DEFAULT_TRACK_UNITS, TrackUnits, get_benchmark
from videofocus.perception import PerceptionOptions

BackendName = Literal["hf", "vllm"]


@dataclass(frozen=True)
class GenerationSettings:
    """How `evaluate` builds the backend when it is given a model path or Hub id (ignored, and not
    recorded, when it is handed a ready backend).

    backend: "hf" (transformers) or "vllm". dtype: None takes load_model's default (bf16 on GPU,
    fp32 on CPU). max_new_tokens / do_sample / temperature / top_p: decoding (greedy by default).
    video_min_pixels / video_max_pixels / image_min_pixels / image_max_pixels: per-frame / per-image
    pixel limits (the papers': video 128·28·28 to 768·28·28, image 4·28·28 to 768·28·28).
    video_total_pixels: a pixel budget for all the frames of a clip together, qwen-vl-utils'
    total_pixels (`media.budget`): long clips get smaller frames. None (the papers'): no budget.
    time_positions: Qwen2.5-VL video time positions, "mean" spacing or "exact" (hf backend only;
    `models.time_positions`)."""

    backend: BackendName = "hf"
    dtype: str | None = None
    max_new_tokens: int = 1024
    do_sample: bool = False
    temperature: float = 1.0
    top_p: float = 1.0
    video_min_pixels: int = VIDEO_MIN_PIXELS
    video_max_pixels: int = VIDEO_MAX_PIXELS
    video_total_pixels: int | None = None
    image_min_pixels: int = IMAGE_MIN_PIXELS
    image_max_pixels: int = IMAGE_MAX_PIXELS
    time_positions: str = "mean"

    def __post_init__(self) -> None:
        if self.backend not in ("hf", "vllm"):
            raise ConfigError(f"unknown backend {self.backend!r}; choose hf or vllm")
        if self.time_positions not in ("mean", "exact") or (self.time_positions == "exact" and self.backend != "hf"):
            raise ConfigError(f"time_positions must be mean or exact (exact with the hf backend only), "
                              f"got {self.time_positions!r} with {self.backend}")
        if self.max_new_tokens < 1:
            raise ConfigError("max_new_tokens must be at least 1")
        if not 1 <= self.video_min_pixels <= self.video_max_pixels or \
                not 1 <= self.image_min_pixels <= self.image_max_pixels:
            raise ConfigError("pixel limits: need 1 <= min_pixels <= max_pixels for video and for images")
        if self.video_total_pixels is not None and self.video_total_pixels < 1:
            raise ConfigError(f"video_total_pixels must be at least 1 (or None: no total budget), "
                              f"got {self.video_total_pixels}")


@dataclass(frozen=True)
class EvalSettings:
    """One evaluation: `benchmark` (a `videofocus score` benchmark), the `rounds` reported, and how
    the model was asked.

    rounds: the rounds whose predictions are scored, e.g. (1, 2, 3). The loop runs max(rounds)
        rounds; the prediction after round k is round k's parse, or, for a sample whose loop
        stopped early (early_stop) at round j < k, round j's parse carried over.
    perception: the iterative-perception options; its `rounds` is set to max(rounds).
    limit: evaluate only the first `limit` samples of the annotation file.
    batch_size: samples per perception call (and prompts per model call for a backend built here).
    seed: seeds python, numpy and torch before each batch with seed + the annotation index of the
        batch's first sample. At batch_size 1 a sample's sampled decoding with transformers thus
        does not depend on how the samples were split over processes or resumed; at larger batch
        sizes it does (a batch's members, and so its seed, change with the split). vLLM ignores
        these per-batch seeds: its engine and every request are seeded with `seed` itself.
    track_units: the units of predicted tracking boxes for scoring; the tracking prompts ask for
        normalised 0-1 boxes.
    generation: decoding settings for a backend built from a model path.
    """

    benchmark: str
    rounds: tuple[int, ...] = (1, 2, 3)
    perception: PerceptionOptions = field(default_factory=PerceptionOptions)
    limit: int | None = None
    batch_size: int = 4
    seed: int = 0
    track_units: TrackUnits = DEFAULT_TRACK_UNITS
    generation: GenerationSettings = field(default_factory=GenerationSettings)

    def __post_init__(self) -> None:
        get_benchmark(self.benchmark)  # ConfigError naming the known benchmarks
        rounds = tuple(sorted(set(self.rounds)))
        if not rounds or rounds[0] < 1:
            raise ConfigError(f"rounds must be positive round numbers, got {list(self.rounds)}")
        if self.limit is not None and self.limit < 1:
            raise ConfigError("limit must be at least 1")
        if self.batch_size < 1:
            raise ConfigError("batch_size must be at least 1")
        if self.track_units not in ("pixels", "normalised"):
            raise ConfigError(f"track_units must be pixels or normalised, got {self.track_units!r}")
        object.__setattr__(self, "rounds", rounds)
        object.__setattr__(self, "perception", replace(self.perception, rounds=rounds[-1]))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings."""
        return {**asdict(self), "rounds": list(self.rounds)}


def parse_rounds(text: str) -> tuple[int, ...]:
    """"1,2,3" → (1, 2, 3); ConfigError on anything but a comma-separated list of positive integers."""
    try:
        rounds = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise ConfigError(f"--rounds takes comma-separated round numbers such as 1,2,3; got {text!r}") from None
    if any(number < 1 for number in rounds):
        raise ConfigError(f"--rounds: round numbers start at 1; got {text!r}")
    return rounds
