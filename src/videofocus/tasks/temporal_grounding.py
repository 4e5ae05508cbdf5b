"""Temporal grounding (Charades-STA, ActivityNet Captions, QVHighlights): when does the query happen?"""

from videofocus.tasks.spec import (CLUE_CONTENT, FREE_TEXT, INTERVAL_LIST, SPAN_TO, TIMESTEP_THINK, Protocol, TaskSpec,
                                   padded, question_variables, register_task, released_training_query, tagged)

VIDEOFOCUS = Protocol(
    template=('Find when this happens in the video: "${question}".${duration_note} Times are in seconds '
              "from the start of the video.\n\n"
              "Think step by step inside <think> </think>. Then give the time span(s) of the event inside "
              "<clue> </clue> as [(start, end), ...] in seconds, precise to two decimal places. For example: "
              "<think>...</think><clue>[(12.54, 17.83)]</clue>"),
    format_pattern=tagged(("think", FREE_TEXT), ("clue", CLUE_CONTENT["temporal"])),
)

_R1_EVENT = ('To accurately pinpoint the event "${question}" in the video, determine the precise time period of '
             "the event.\n\n")
_R1_ANSWER = ('the start and end times (in seconds, precise to two decimal places) in the format "start time to end '
              'time" within the <answer> </answer> tags. For example: "12.54 to 17.83".')
_R1_SPAN = padded(rf'"?{SPAN_TO}"?')  # the prompt's own example puts the span in quotes

# VideoChat-R1: GROUND_TEMPLATE_THINK / _NOTHINK (training lowercases the query, drops its final ".").
VIDEOCHAT_R1 = Protocol(
    template=_R1_EVENT + TIMESTEP_THINK + "\n\nThen, provide " + _R1_ANSWER,
    format_pattern=tagged(("think", FREE_TEXT), ("answer", _R1_SPAN)),
    train_question=released_training_query, media_first=False,
)
VIDEOCHAT_R1_NOTHINK = Protocol(
    template=_R1_EVENT + "Provide " + _R1_ANSWER,
    format_pattern=tagged(("answer", _R1_SPAN)),
    train_question=released_training_query, media_first=False,
)

# VideoChat-R1.5: task_prompts["tg"] in training, evaluate_chara.py's GROUND_TEMPLATE in evaluation.
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
    protocols={"videofocus": VIDEOFOCUS, "videochat_r1": VIDEOCHAT_R1, "videochat_r1_nothink": VIDEOCHAT_R1_NOTHINK,
               "videochat_r1_5": VIDEOCHAT_R1_5},
    variables=question_variables,
))
