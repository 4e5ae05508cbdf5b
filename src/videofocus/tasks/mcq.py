"""Multiple-choice video/image QA (MVBench, VideoMME, …). The canonical protocol also asks for a clue
so that iterative perception can refocus; it earns a reward only where the sample annotates one."""

from videofocus.tasks.spec import (FREE_TEXT, OPTION_ANSWER, RELEASED_VIDEO_QUESTION, TIMESTEP_THINK, Protocol,
                                   TaskSpec, question_variables, register_task, tagged)
from videofocus.tasks.grounded_qa import VIDEOFOCUS as GROUNDED_VIDEOFOCUS, VIDEOFOCUS_IMAGE as GROUNDED_IMAGE

_LETTER = "provide your answer within the <answer> </answer> tags, output the corresponding letter of the option."
_R15_EVAL_QUESTION = ('Answer the question: "${question}" according to the content of the video. Select the answer '
                      "from :${options_lines}.\n\n")

# VideoChat-R1: QA_THINK (training and evaluation alike); QA_NOTHINK in evaluation, whose training
# twin joins the sentences with a space instead of a blank line.
VIDEOCHAT_R1 = Protocol(
    template=RELEASED_VIDEO_QUESTION + "\n\n" + TIMESTEP_THINK + "\n\nThen, " + _LETTER + "\n",
    format_pattern=tagged(("think", FREE_TEXT), ("answer", OPTION_ANSWER)),
    media_first=False,
)
VIDEOCHAT_R1_NOTHINK = Protocol(
    template=RELEASED_VIDEO_QUESTION + "\n\nP" + _LETTER[1:] + "\n",
    train_template=RELEASED_VIDEO_QUESTION + " P" + _LETTER[1:] + "\n",
    format_pattern=tagged(("answer", OPTION_ANSWER)),
    media_first=False,
)

# VideoChat-R1.5: task_prompts["mc"] in training (R1's QA_NOTHINK); its VideoMME evaluation asks for
# think + answer + glue in the rounds before the last (QA_THINK_GLUE) and for the answer in the last (QA).
VIDEOCHAT_R1_5 = Protocol(
    template=_R15_EVAL_QUESTION + "Then, " + _LETTER + " For example: <answer>A</answer>.\n",
    round_template=(_R15_EVAL_QUESTION + "Output your think process within the  <think> </think> tags.\n\n"
                    "Then, provide your answer within the <answer> </answer> tags, output the corresponding letter of "
                    "the option. At the same time, in the <glue> </glue> tags, present the precise time period in "
                    "seconds of the video clips on which you base your answer to this question in the format of "
                    "[(s1, e1), (s2, e2), ...]. For example: <think>...</think><answer>A</answer>"
                    "<glue>[(5.2, 10.4)]</glue>.\n"),
    train_template=VIDEOCHAT_R1_NOTHINK.template,
    format_pattern=tagged(("answer", OPTION_ANSWER)),
)

TASK = register_task(TaskSpec(
    name="mcq",
    clue_kind="temporal",
    image_clue_kind="spatial",
    reward_names=("format", "accuracy", "temporal_iou", "box_iou"),
    benchmarks=("mcq",),
    protocols={"videofocus": GROUNDED_VIDEOFOCUS, "videochat_r1": VIDEOCHAT_R1,
               "videochat_r1_nothink": VIDEOCHAT_R1_NOTHINK, "videochat_r1_5": VIDEOCHAT_R1_5},
    image_protocols={"videofocus": GROUNDED_IMAGE},
    variables=question_variables,
))
