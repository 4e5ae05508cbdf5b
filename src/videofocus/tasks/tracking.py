"""Object tracking (GOT-10k, 8 frames): one box per sampled frame, normalised 0–1 to the frame size as
VideoChat-R1 trained it. The sample's track starts with the given initial box; the model lists a box
for every track entry, the first included."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from videofocus.errors import DataError
from videofocus.tasks.spec import (BOX_LIST, CLUE_CONTENT, FREE_TEXT, TIMESTEP_THINK, Protocol, TaskSpec,
                                   format_numbers, padded, register_task, require_frame_size, tagged)

if TYPE_CHECKING:
    from videofocus.schema import Sample


def normalised_track(sample: Sample) -> list[list[float]]:
    """The sample's track boxes divided by the frame width/height."""
    width, height = require_frame_size(sample)
    return [[point.box[0] / width, point.box[1] / height, point.box[2] / width, point.box[3] / height]
            for point in (sample.clue.track if sample.clue and sample.clue.track else [])]


def tracking_variables(sample: Sample) -> dict[str, str]:
    track = normalised_track(sample)
    if not track:
        raise DataError(f"tracking sample {sample.id!r} needs clue.track with at least the initial box",
                        field="clue.track")
    return {"object": sample.question or "object", "start": format_numbers(track[0]),
            "start_released": released_box(track[0]), "frames": str(len(track)),
            "frames_word": str(len(track)) if len(track) != 8 else "eight"}


def released_box(box: list[float]) -> str:
    """A normalised box as the released VideoChat-R1 prints its GOT-10k start box: `str()` of the
    annotation's list, whose values have 3 decimals (`[0.093, 0.0, 0.8, 0.797]`)."""
    return str([round(value, 3) for value in box])


VIDEOFOCUS = Protocol(
    template=('Track the "${object}" through the ${frames} frames of the video. Its box in the first frame is '
              "${start}, in normalised coordinates [x0, y0, x1, y1] (fractions 0 to 1 of the frame width and "
              "height).\n\n"
              "Think step by step inside <think> </think>. Then give inside <clue> </clue> a list of ${frames} "
              "boxes in the same normalised coordinates, one per frame in order, starting with the first frame. "
              "For example: <think>...</think><clue>[[0.10, 0.50, 0.30, 0.55], [0.12, 0.49, 0.32, 0.55], ...]</clue>"),
    format_pattern=tagged(("think", FREE_TEXT), ("clue", CLUE_CONTENT["tracking"])),
)

_R1_TASK = ('Track the "${object}" in the video based on its initial coordinates "${start_released}". The output '
            "should be a list containing ${frames_word} sublists. Each sublist includes four normalized coordinates "
            "[x0, y0, x1, y1] representing the bounding box of the object at specific time intervals.\n\n")
_R1_ANSWER = ("Provide your answer within the <answer> </answer> tags as a list of ${frames_word} sublists, where "
              "each sublist contains the normalized coordinates [x0, y0, x1, y1]. For example: "
              "<answer>[[0.1, 0.5, 0.3, 0.55], [0.72, 0.25, 0.84, 0.43], ...]</answer>.\n")

# VideoChat-R1: TRACK_THINK in evaluation, the training prompt adds the <timestep> sentence; TRACK_NO_THINK.
VIDEOCHAT_R1 = Protocol(
    template=_R1_TASK + "Output your thought process within the <think> </think> tags.\n\n" + _R1_ANSWER,
    train_template=_R1_TASK + TIMESTEP_THINK + "\n\n" + _R1_ANSWER,
    format_pattern=tagged(("think", FREE_TEXT), ("answer", padded(BOX_LIST))),
    media_first=False,
)
VIDEOCHAT_R1_NOTHINK = Protocol(template=_R1_TASK + _R1_ANSWER, format_pattern=tagged(("answer", padded(BOX_LIST))),
                                media_first=False)
# VideoChat-R1.5 trains no tracking (its tracking rewards are commented out): R1's no-think prompt.
VIDEOCHAT_R1_5 = replace(VIDEOCHAT_R1_NOTHINK, media_first=True)

TASK = register_task(TaskSpec(
    name="tracking",
    clue_kind="tracking",
    reward_names=("format", "tracking"),
    benchmarks=("got10k",),
    protocols={"videofocus": VIDEOFOCUS, "videochat_r1": VIDEOCHAT_R1, "videochat_r1_nothink": VIDEOCHAT_R1_NOTHINK,
               "videochat_r1_5": VIDEOCHAT_R1_5},
    variables=tracking_variables,
))
