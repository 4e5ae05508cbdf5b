"""Temporal grounding (Charades-STA, ActivityNet Captions, QVHighlights): when does the query happen?"""

from videofocus.tasks.spec import (CLUE_CONTENT, FREE_TEXT, SPAN_TO, INTERVAL_LIST, Protocol, TaskSpec, padded,
                                   question_variables, register_task, tagged)

VIDEOFOCUS = Protocol(
    template=('Find when this happens in the video: "${question}".${duration_note} Times are in seconds '
              "from the start of the video.\n\n"
              "Think step by step inside <think> </think>. Then give the time span(s) of the event inside "
              "<clue> </clue> as [(start, end), ...] in seconds, precise to two decimal places. For example: "
              "<think>...</think><clue>[(12.54, 17.83)]</clue>"),
    format_pattern=tagged(("think", FREE_TEXT), ("clue", CLUE_CONTENT["temporal"])),
)

# VideoChat-R1 (seed 001; the TimeZero-style grounding prompt its code trains with).
VIDEOCHAT_R1 = Protocol(
    template=('To accurately pinpoint the event "${question}" in the video, determine the precise time period '
              "of the event.\n\n"
              "Output your thought process within the <think> </think> tags, including analysis with either "
              "specific timestamps (xx.xx) or time ranges (xx.xx to xx.xx) in <timestep> </timestep> tags.\n\n"
              "Then, provide the start and end times (in seconds, precise to two decimal places) in the format "
              '"start time to end time" within the <answer> </answer> tags. For example: "12.54 to 17.83".'),
    format_pattern=tagged(("think", FREE_TEXT), ("answer", padded(SPAN_TO))),
)

# VideoChat-R1.5 released code, task_prompts["tg"].
VIDEOCHAT_R1_5 = Protocol(
    template=('To accurately pinpoint the event "${question}" in the video, determine the precise time period '
              "of the event.\n\n"
              "Provide the start and end times (in seconds, precise to two decimal places) in the format of "
              "[(s1, e1), (s2, e2), ...] within the <answer> </answer> tags. For example: "
              "<answer>[(12.54, 17.83)]</answer>"),
    format_pattern=tagged(("answer", padded(INTERVAL_LIST))),
)

TASK = register_task(TaskSpec(
    name="temporal_grounding",
    clue_kind="temporal",
    reward_names=("format", "temporal_iou"),
    benchmarks=("temporal_grounding",),
    protocols={"videofocus": VIDEOFOCUS, "videochat_r1": VIDEOCHAT_R1, "videochat_r1_5": VIDEOCHAT_R1_5},
    variables=question_variables,
))
