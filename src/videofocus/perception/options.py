"""The knobs of iterative perception, with the papers' settings as defaults."""

from __future__ import annotations

from dataclasses import dataclass

from videofocus.errors import ConfigError
from videofocus.tasks.spec import PROTOCOLS, STAGES

# How rounds 2+ place frames inside the clue (`perception.views.refocus`).
FOCUS_SAMPLING = ("key_ratio", "released")


@dataclass(frozen=True)
class PerceptionOptions:
    """How the loop samples, asks and stops.

    rounds: perception rounds (VideoChat-R1.5: 3). The final answer is the last round's.
    num_frames: a fixed frame budget; None samples at `fps` within [min_frames, max_frames]
        (VideoChat-R1.5 eval: 2 fps, 4–2048 frames; 768 here keeps the memory of a long video in
        check). Every round uses round 1's budget.
    key_ratio: share of the budget placed densely inside the predicted interval(s) in rounds 2+
        (the paper's Table 12: 0.5); the rest stays spread over the video, reusing round-1 frames.
    carry_history: put the previous round's think and clue into the next prompt (the released
        code does not).
    early_stop: stop once a round's clue overlaps the previous round's by at least
        `early_stop_iou` (temporal IoU, or box IoU per box) and its answer is the same.
    protocol: "videofocus" (think/clue/answer), "videochat_r1" or "videochat_r1_5" (the prompts
        the released VideoChat-R1 / R1.5 checkpoints were trained with; `tasks.spec`).
    task: the task whose prompt is used; None takes each sample's own task.
    max_crops / crop_margin: image rounds 2+ show the full image plus up to `max_crops` crops of
        the predicted boxes, each widened by `crop_margin` of its size on every side.
    focus_sampling: how rounds 2+ place the frames: "key_ratio" (`key_ratio` of the budget inside
        the clue, in reusable pairs) or "released" (the released R1.5 rule: clue frames weigh 1.5,
        duplicates dropped, `media.sampling.released_key_frames`). None: "released" under the
        videochat_r1_5 protocol, "key_ratio" otherwise.
    keep_last_clue: a round that writes no clue block refocuses on the last clue given (the
        released R1.5 loop keeps its previous clue when the answer has no <glue>; a clue block it
        cannot read resets it) instead of falling back to uniform frames. None: True under the
        videochat_r1_5 protocol.
    stage: "eval" (the protocol's evaluation prompts, per round) or "train" (its training prompt in
        every round: ITP training, whose format reward checks that prompt's form).
    """

    rounds: int = 3
    num_frames: int | None = None
    fps: float = 2.0
    min_frames: int = 4
    max_frames: int = 768
    key_ratio: float = 0.5
    carry_history: bool = False
    early_stop: bool = False
    early_stop_iou: float = 0.9
    protocol: str = "videofocus"
    task: str | None = None
    max_crops: int = 2
    crop_margin: float = 0.1
    focus_sampling: str | None = None
    keep_last_clue: bool | None = None
    stage: str = "eval"

    @property
    def sampling_mode(self) -> str:
        """`focus_sampling`, resolved for the protocol."""
        if self.focus_sampling is not None:
            return self.focus_sampling
        return "released" if self.protocol == "videochat_r1_5" else "key_ratio"

    @property
    def keeps_last_clue(self) -> bool:
        """`keep_last_clue`, resolved for the protocol."""
        return self.keep_last_clue if self.keep_last_clue is not None else self.protocol == "videochat_r1_5"

    def __post_init__(self) -> None:
        checks = [
            (self.rounds >= 1, "rounds must be at least 1"),
            (self.num_frames is None or self.num_frames >= 1, "num_frames must be at least 1"),
            (self.fps > 0, "fps must be positive"),
            (1 <= self.min_frames <= self.max_frames, "need 1 <= min_frames <= max_frames"),
            (0.0 < self.key_ratio <= 1.0, "key_ratio must lie in (0, 1]"),
            (0.0 <= self.early_stop_iou <= 1.0, "early_stop_iou must lie in [0, 1]"),
            (self.protocol in PROTOCOLS, f"protocol must be one of {', '.join(PROTOCOLS)}"),
            (self.stage in STAGES, f"stage must be one of {', '.join(STAGES)}"),
            (self.max_crops >= 1, "max_crops must be at least 1"),
            (self.crop_margin >= 0, "crop_margin must not be negative"),
            (self.focus_sampling in (None, *FOCUS_SAMPLING),
             f"focus_sampling must be one of {', '.join(FOCUS_SAMPLING)}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(f"perception options: {message}")
