"""Video classification (e.g. VidTAB quality assessment): the answer is an option letter when the
sample lists options, otherwise the class label itself (rewarded by exact match, case-insensitive)."""

from videofocus.schema import Sample
from videofocus.tasks.spec import FREE_TEXT, Protocol, TaskSpec, options_block, register_task, tagged


def classification_variables(sample: Sample) -> dict[str, str]:
    if sample.options:
        choices = f"\nOptions:\n{options_block(sample)}\n"
        what = "the letter of the correct option"
    else:
        choices, what = "", "the class label only"
    return {"question": sample.question, "choices": choices, "what": what}


VIDEOFOCUS = Protocol(
    template=("${question}\n${choices}\nThink step by step inside <think> </think>. Then give ${what} inside "
              "<answer> </answer>."),
    format_pattern=tagged(("think", FREE_TEXT), ("answer", FREE_TEXT)),
)
# VideoChat-R1 trained quality assessment with the wording of its multiple-choice prompt.
VIDEOCHAT_R1 = Protocol(
    template=("${question}\n${choices}\nOutput your thought process within the <think> </think> tags.\n\n"
              "Then, provide ${what} within the <answer> </answer> tags.\n"),
    format_pattern=tagged(("think", FREE_TEXT), ("answer", FREE_TEXT)),
)
VIDEOCHAT_R1_5 = Protocol(
    template="${question}\n${choices}\nProvide ${what} within the <answer> </answer> tags.\n",
    format_pattern=tagged(("answer", FREE_TEXT)),
)

TASK = register_task(TaskSpec(
    name="classification",
    clue_kind=None,
    reward_names=("format", "accuracy"),
    benchmarks=("mcq",),  # for samples with options
    protocols={"videofocus": VIDEOFOCUS, "videochat_r1": VIDEOCHAT_R1, "videochat_r1_5": VIDEOCHAT_R1_5},
    variables=classification_variables,
))
