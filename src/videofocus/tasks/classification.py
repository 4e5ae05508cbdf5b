"""Video classification (e.g. VidTAB quality assessment): the answer is an option letter when the
sample lists options, otherwise the class label itself (rewarded by exact match, case-insensitive)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from videofocus.tasks.spec import FREE_TEXT, TIMESTEP_THINK, Protocol, TaskSpec, options_block, register_task, tagged

if TYPE_CHECKING:
    from videofocus.schema import Sample


def classification_variables(sample: Sample) -> dict[str, str]:
    if sample.options:
        choices = f"\nOptions:\n{options_block(sample)}\n"
        what = "the letter of the correct option"
    else:
        choices, what = "", "the class label only"
    # The release's [PROBLEM] is the whole VidTAB instruction, its classes written into it.
    problem = sample.question + (f"\nOptions:\n{options_block(sample)}" if sample.options else "")
    return {"question": sample.question, "choices": choices, "what": what, "problem": problem}


VIDEOFOCUS = Protocol(
    template=("${question}\n${choices}\nThink step by step inside <think> </think>. Then give ${what} inside "
              "<answer> </answer>."),
    format_pattern=tagged(("think", FREE_TEXT), ("answer", FREE_TEXT)),
)
# VideoChat-R1: CLS_QA_TEMPLATE (training and evaluation alike), the no-think training prompt.
VIDEOCHAT_R1 = Protocol(
    template=("${problem}\n\n" + TIMESTEP_THINK +
              "\n\nThen, provide your final answer within the <answer> </answer> tags.\n"),
    format_pattern=tagged(("think", FREE_TEXT), ("answer", FREE_TEXT)),
    media_first=False,
)
VIDEOCHAT_R1_NOTHINK = Protocol(
    template="${problem}\n\nOutput your final answer within the <answer> </answer> tags.\n",
    format_pattern=tagged(("answer", FREE_TEXT)),
    media_first=False,
)
# VideoChat-R1.5 released no classification prompt: R1's no-think one, media first as R1.5 does.
VIDEOCHAT_R1_5 = replace(VIDEOCHAT_R1_NOTHINK, media_first=True)

TASK = register_task(TaskSpec(
    name="classification",
    clue_kind=None,
    reward_names=("format", "accuracy"),
    benchmarks=("mcq",),  # for samples with options
    protocols={"videofocus": VIDEOFOCUS, "videochat_r1": VIDEOCHAT_R1, "videochat_r1_nothink": VIDEOCHAT_R1_NOTHINK,
               "videochat_r1_5": VIDEOCHAT_R1_5},
    variables=classification_variables,
))
