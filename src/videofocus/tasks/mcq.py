"""Multiple-choice video/image QA (MVBench, VideoMME, …). The canonical protocol also asks for a clue
so that iterative perception can refocus; it earns a reward only where the sample annotates one."""

from videofocus.tasks.spec import (FREE_TEXT, OPTION_ANSWER, RELEASED_QUESTION, Protocol, TaskSpec, question_variables,
                                   register_task, tagged)
from videofocus.tasks.grounded_qa import VIDEOFOCUS as GROUNDED_VIDEOFOCUS, VIDEOFOCUS_IMAGE as GROUNDED_IMAGE

# VideoChat-R1 (seed 001): think, then the letter.
VIDEOCHAT_R1 = Protocol(
    template=(RELEASED_QUESTION + "\n\nOutput your thought process within the <think> </think> tags.\n\n"
              "Then, provide your answer within the <answer> </answer> tags, output the corresponding letter of "
              "the option.\n"),
    format_pattern=tagged(("think", FREE_TEXT), ("answer", OPTION_ANSWER)),
)

# VideoChat-R1.5 released code, task_prompts["mc"].
VIDEOCHAT_R1_5 = Protocol(
    template=(RELEASED_QUESTION + "\n\nProvide your answer within the <answer> </answer> tags, output the "
              "corresponding letter of the option.\n"),
    format_pattern=tagged(("answer", OPTION_ANSWER)),
)

TASK = register_task(TaskSpec(
    name="mcq",
    clue_kind="temporal",
    image_clue_kind="spatial",
    reward_names=("format", "accuracy", "temporal_iou", "box_iou"),
    benchmarks=("mcq",),
    protocols={"videofocus": GROUNDED_VIDEOFOCUS, "videochat_r1": VIDEOCHAT_R1, "videochat_r1_5": VIDEOCHAT_R1_5},
    image_protocols={"videofocus": GROUNDED_IMAGE},
    variables=question_variables,
))
