"""Video captioning (FIBER-1k training, Dream-1k evaluation): rewarded by the event recall an LLM judge
measures (rewards.caption_recall). The sample's `answer` holds the reference caption."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from videofocus.tasks.spec import FREE_TEXT, Protocol, TaskSpec, register_task, tagged

if TYPE_CHECKING:
    from videofocus.schema import Sample

DEFAULT_INSTRUCTION = "Describe this video in detail."  # the Dream-1k prompt of VideoChat-R1's lmms-eval


def caption_variables(sample: Sample) -> dict[str, str]:
    return {"instruction": sample.question or DEFAULT_INSTRUCTION}


VIDEOFOCUS = Protocol(
    template=("${instruction}\n\nThink step by step inside <think> </think>, noting the events in the order they "
              "happen. Then write the description inside <answer> </answer>."),
    format_pattern=tagged(("think", FREE_TEXT), ("answer", FREE_TEXT)),
)
# The seeds give the caption task's rewards (format + recall) but not its prompt: this follows the
# VideoChat-R1 think/answer wording of its other tasks.
VIDEOCHAT_R1 = Protocol(
    template=("${instruction}\n\nOutput your thought process within the <think> </think> tags.\n\n"
              "Then, provide the detailed description within the <answer> </answer> tags.\n"),
    format_pattern=tagged(("think", FREE_TEXT), ("answer", FREE_TEXT)),
    media_first=False,
)
VIDEOCHAT_R1_NOTHINK = Protocol(
    template="${instruction}\n\nProvide the detailed description within the <answer> </answer> tags.\n",
    format_pattern=tagged(("answer", FREE_TEXT)),
    media_first=False,
)
VIDEOCHAT_R1_5 = replace(VIDEOCHAT_R1_NOTHINK, media_first=True)

TASK = register_task(TaskSpec(
    name="caption",
    clue_kind=None,
    reward_names=("format", "caption_recall"),
    # Dream-1k (`score --benchmark dream1k`) needs an LLM judge; benchmarks here are the rule-based ones.
    benchmarks=(),
    protocols={"videofocus": VIDEOFOCUS, "videochat_r1": VIDEOCHAT_R1, "videochat_r1_nothink": VIDEOCHAT_R1_NOTHINK,
               "videochat_r1_5": VIDEOCHAT_R1_5},
    variables=caption_variables,
))
