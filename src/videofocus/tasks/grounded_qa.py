"""Grounded multiple-choice QA (NExT-GQA, ReXTime; VisualCoT for images): the answer letter plus the
clue it rests on (time spans in a video, a box in an image)."""

from dataclasses import replace

from videofocus.tasks.spec import (CLUE_CONTENT, FREE_TEXT, OPTION_ANSWER, RELEASED_VIDEO_QUESTION, TIMESTEP_THINK,
                                   Protocol, TaskSpec, question_variables, register_task, tagged)

VIDEOFOCUS = Protocol(
    template=("Question: ${question}\nOptions:\n${options}\n\n"
              "Think step by step inside <think> </think>. Then, inside <clue> </clue>, give the time span(s) of "
              "the video your answer rests on as [(start, end), ...] in seconds from the start of the video."
              "${duration_note} Finally give the letter of the correct option inside <answer> </answer>. For "
              "example: <think>...</think><clue>[(5.20, 10.40)]</clue><answer>A</answer>"),
    format_pattern=tagged(("think", FREE_TEXT), ("clue", CLUE_CONTENT["temporal"]), ("answer", OPTION_ANSWER)),
)
VIDEOFOCUS_IMAGE = Protocol(
    template=("Question: ${question}\nOptions:\n${options}\n\n"
              "Think step by step inside <think> </think>. Then, inside <clue> </clue>, give the region of the "
              "image your answer rests on as a box [x0, y0, x1, y1] in pixels of the image you see. Finally give "
              "the letter of the correct option inside <answer> </answer>. For example: "
              "<think>...</think><clue>[200, 400, 300, 600]</clue><answer>A</answer>"),
    format_pattern=tagged(("think", FREE_TEXT), ("clue", CLUE_CONTENT["spatial"]), ("answer", OPTION_ANSWER)),
)

_GLUE_ANSWER = ("provide your answer within the <answer> </answer> tags, output the corresponding letter of the "
                "option. At the same time, in the <glue> </glue> tags, present the precise time period in seconds "
                "of the video clips on which you base your answer to this question in the format of [(s1, e1), "
                "(s2, e2), ...]. For example: <answer>A</answer><glue>[(5.2, 10.4)]</glue>.\n")

# VideoChat-R1: GQA_THINK_ANSWER_GLUE (training and evaluation alike) and GQA_ANSWER_GLUE (no think).
VIDEOCHAT_R1 = Protocol(
    template=RELEASED_VIDEO_QUESTION + "\n\n" + TIMESTEP_THINK + "\n\nThen, " + _GLUE_ANSWER,
    format_pattern=tagged(("think", FREE_TEXT), ("answer", OPTION_ANSWER), ("glue", CLUE_CONTENT["temporal"])),
    media_first=False,
)
VIDEOCHAT_R1_NOTHINK = Protocol(
    template=RELEASED_VIDEO_QUESTION + " P" + _GLUE_ANSWER[1:],
    format_pattern=tagged(("answer", OPTION_ANSWER), ("glue", CLUE_CONTENT["temporal"])),
    media_first=False,
)
# VideoChat-R1.5: task_prompts["gqa"] in training (the same text as R1's no-think prompt), evaluate_gqa.py's
# think + answer + glue prompt in evaluation; ["igqa"] for images.
VIDEOCHAT_R1_5 = replace(
    VIDEOCHAT_R1_NOTHINK, media_first=True, train_template=VIDEOCHAT_R1_NOTHINK.template,
    template=(RELEASED_VIDEO_QUESTION + "\n\nOutput your thought process within the <think> </think> tags.\n\n"
              "Then, " + _GLUE_ANSWER.replace("For example: <answer>", "For example: <think>...</think><answer>")),
)
IMAGE_GLUE = Protocol(
    template=('Answer the question: "${question}" according to the content of the image. Select the answer from '
              ":${options_inline}.\n\n"
              "Then, provide your answer within the <answer> </answer> tags, output the corresponding letter of "
              "the option.\n\n"
              "At the same time, in the <glue> </glue> tags,  present the glue area to answer the question with a "
              "bounding box in the format [x_min, y_min, x_max, y_max]. For example: "
              "<answer>A</answer><glue>[200, 400, 300, 600]</glue>.\n\n"),
    format_pattern=tagged(("answer", OPTION_ANSWER), ("glue", CLUE_CONTENT["spatial"])),
)

TASK = register_task(TaskSpec(
    name="grounded_qa",
    clue_kind="temporal",
    image_clue_kind="spatial",
    reward_names=("format", "temporal_iou", "box_iou", "accuracy"),
    benchmarks=("nextgqa", "rextime"),
    protocols={"videofocus": VIDEOFOCUS, "videochat_r1": VIDEOCHAT_R1, "videochat_r1_nothink": VIDEOCHAT_R1_NOTHINK,
               "videochat_r1_5": VIDEOCHAT_R1_5},
    image_protocols={"videofocus": VIDEOFOCUS_IMAGE, "videochat_r1": IMAGE_GLUE, "videochat_r1_nothink": IMAGE_GLUE,
                     "videochat_r1_5": IMAGE_GLUE},
    variables=question_variables,
))
