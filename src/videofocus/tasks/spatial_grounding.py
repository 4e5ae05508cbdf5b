"""Spatial grounding (RefCOCO/+/g): the box of the referred object, in pixels of the image the model
sees (the caller maps it back to original pixels, SPEC "Output protocol")."""

from videofocus.tasks.spec import (BOX, CLUE_CONTENT, FREE_TEXT, Protocol, TaskSpec, padded, question_variables,
                                   register_task, tagged)

VIDEOFOCUS = Protocol(
    template=('Locate "${question}" in the image.\n\n'
              "Think step by step inside <think> </think>. Then give its bounding box inside <clue> </clue> as "
              "[x0, y0, x1, y1] in pixels of the image you see. For example: "
              "<think>...</think><clue>[200, 400, 300, 600]</clue>"),
    format_pattern=tagged(("think", FREE_TEXT), ("clue", CLUE_CONTENT["spatial"])),
)

# VideoChat-R1.5 released code, task_prompts["detection"] (VideoChat-R1 had no image grounding task).
DETECTION = Protocol(
    template=('Detect the object "${question}" in the image. \n\n'
              "The position should be represented as a bounding box in the format [x_min, y_min, x_max, y_max].\n\n"
              "Output the thinking process in <think> </think> and final answer (number) in <answer> </answer> "
              "tags.\n\nFor example: <think>...</think><answer>[200, 400, 300, 600]</answer>.\n"),
    format_pattern=tagged(("think", FREE_TEXT), ("answer", padded(BOX))),
)

TASK = register_task(TaskSpec(
    name="spatial_grounding",
    clue_kind="spatial",
    reward_names=("format", "box_iou"),
    benchmarks=("refcoco",),
    protocols={"videofocus": VIDEOFOCUS, "videochat_r1": DETECTION, "videochat_r1_nothink": DETECTION,
               "videochat_r1_5": DETECTION},
    variables=question_variables,
))
