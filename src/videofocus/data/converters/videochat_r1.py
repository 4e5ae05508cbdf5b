"""Training data released with VideoChat-R1 / VideoChat-R1.5 (github.com/OpenGVLab/VideoChat-R1),
so it can be used as is. A JSON list (or JSONL) of records in either of the two forms the released
code reads:

* annotation files (`nextgqa_val.json`, the R1.5 task files): `{"video" | "image", "question",
  "options"?, "answer"?, "glue"?, "duration"?}`; the glue is [[s, e], …] or [s, e] for a video,
  [x0, y0, x1, y1] for an image;
* the records the training scripts build: `{"problem", "solution", "video_path" | "image_path",
  "durations", "data_type"}`, e.g. temporal grounding `{"problem": "person opens a door",
  "solution": [12.54, 17.83]` or `"<answer>12.54 to 17.83</answer>", "data_type": "tg"}` and
  grounded QA `{"problem": {"question", "options"}, "solution": {"answer", "glue"}, "data_type": "gqa"}`.

Sample ids are `videochat_r1/<the record's id>` when it has one (`2574374895_8`, joinable with the
official keys), else `videochat_r1/<index>`; the record's `type` (NExT-GQA question types) goes to
meta. The released temporal grounding annotations for Charades-STA / ActivityNet are a JSON object
`{video: {duration, timestamps, sentences}}` instead: convert those with --from activitynet_captions.

The task follows from what a record holds: options and a glue -> grounded_qa, options alone -> mcq,
a glue alone -> temporal_grounding (video) or spatial_grounding (image). Option labels ("A. ") are
stripped; answers may be letters, "(B)", "<answer>B</answer>" or the option text. A record without
options keeps its answer as free text.

Tracking is refused, in both forms (`got_train.json`'s `{"path", "object", "gt": [8 normalised
boxes]}` and the built records' lists of frame files): the release does not say which frame of the
sequence each box belongs to, and its code shows the model 7 frames of the folder (the first, five
between, the last), not 8. Convert the GOT-10k release with `--from got10k` instead."""

from __future__ import annotations

import re
from collections.abc import Iterator

from videofocus.data.converters.common import (ConvertOptions, Converter, Where, answer_letter, convert_each,
                                               intervals_from, iter_json_records, make_sample,
                                               strip_option_label, to_float)
from videofocus.schema import Sample

SOURCE = "videochat_r1"
_TAG = re.compile(r"</?(?:answer|glue|clue)>")
_NUMBER_PAIR = re.compile(r"(\d+(?:\.\d+)?)\s*(?:,|to|and)\s*(\d+(?:\.\d+)?)")
_OBJECT_HINT = ("; a JSON object {video: {duration, timestamps, sentences}} is VideoChat-R1's Charades-STA / "
                "ActivityNet annotation layout: convert it with --from activitynet_captions")
_TRACKING_REFUSED = ("is not supported: the release does not say which frame of the sequence each of its 8 boxes "
                     "belongs to (its code shows the model 7); convert the GOT-10k release with --from got10k")


def convert(options: ConvertOptions) -> Iterator[Sample]:
    source = options.source_or(SOURCE)
    records = ((where, (index, record)) for index, (where, record)
               in enumerate(iter_json_records(options.input, object_hint=_OBJECT_HINT)))

    def to_samples(where: Where, item: tuple[int, dict]) -> list[Sample]:
        index, record = item
        _refuse_tracking(record, where)
        fields = _built_record(record, where) if "problem" in record else _annotation(record, where)
        media_type, path, duration, question, choices, answer, glue = fields
        if not isinstance(path, str) or not path:
            raise where.error(f"expected a media path, got {path!r}", "video")
        choices = [strip_option_label(str(text), i) for i, text in enumerate(choices)] if choices else None
        clue = _clue(glue, media_type, where) if glue is not None else None
        record_type = record.get("type")
        return [make_sample(
            where, id=f"{source}/{_record_id(record, index, where)}", task=_task(media_type, choices, clue, where),
            source=source, media={"type": media_type, "path": options.media_path(path), "duration": duration},
            question=question, options=choices, answer=_answer(answer, choices, where), clue=clue,
            meta={"type": record_type} if isinstance(record_type, str) else None)]

    return convert_each(records, to_samples, options)


def _record_id(record: dict, index: int, where: Where) -> str:
    """The record's own id (str or int), else its position in the file."""
    value = record.get("id")
    if value is None:
        return str(index)
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
        raise where.error(f"expected the record id as text or a number, got {value!r}", "id")
    return str(value).strip()


def _refuse_tracking(record: dict, where: Where) -> None:
    if record.get("data_type") == "tracking" or isinstance(record.get("video_path"), list):
        raise where.error(f"a tracking record (a list of frame files) {_TRACKING_REFUSED}", "video_path")
    if "gt" in record and "path" in record:
        raise where.error(f"a tracking record (got_train.json's path, object, gt) {_TRACKING_REFUSED}", "gt")


def _answer(answer: object, choices: list[str] | None, where: Where) -> str | None:
    """The option letter with options; without, the answer as free text (e.g. open-ended grounded QA)."""
    if answer is None:
        return None
    if choices:
        return answer_letter(_untagged(answer), choices, where, "answer")
    if not isinstance(answer, str):
        raise where.error(f"expected a free-text answer (the record has no options), got {answer!r}", "answer")
    return _untagged(answer) or None


def _annotation(record: dict, where: Where) -> tuple:
    media_type = "image" if "image" in record else "video"
    duration = to_float(record["duration"], where, "duration") if record.get("duration") is not None else None
    question = record.get("question")
    if not isinstance(question, str):
        raise where.error(f"expected the question as text, got {question!r}", "question")
    return (media_type, record.get(media_type), duration, question.strip(), record.get("options"),
            record.get("answer"), record.get("glue"))


def _built_record(record: dict, where: Where) -> tuple:
    problem, solution = record.get("problem"), record.get("solution")
    media_type = "image" if "image_path" in record else "video"
    duration = record.get("durations")
    duration = to_float(duration, where, "durations") if duration else None  # tracking records say 0
    question, choices = problem, None
    if isinstance(problem, dict):
        question, choices = problem.get("question"), problem.get("options")
    if not isinstance(question, str):
        raise where.error(f"expected the question as text, got {question!r}", "problem")
    answer, glue = (solution.get("answer"), solution.get("glue")) if isinstance(solution, dict) else (None, solution)
    if choices and not isinstance(solution, dict):  # multiple-choice solution: "<answer>B</answer>"
        answer, glue = solution, None
    return media_type, record.get(f"{media_type}_path"), duration, question.strip(), choices, answer, glue


def _clue(glue: object, media_type: str, where: Where) -> dict:
    if media_type == "image":
        boxes = glue if isinstance(glue, list) and glue and isinstance(glue[0], list) else [glue]
        if not all(isinstance(box, list) and len(box) == 4 for box in boxes):
            raise where.error(f"expected an image glue [x0, y0, x1, y1], got {glue!r}", "glue")
        return {"boxes": [[to_float(value, where, "glue") for value in box] for box in boxes]}
    if isinstance(glue, str):
        pairs = _NUMBER_PAIR.findall(_untagged(glue))
        if not pairs:
            raise where.error(f"no 'start to end' times in {glue!r}", "solution")
        return {"intervals": [[float(start), float(end)] for start, end in pairs]}
    return {"intervals": intervals_from(glue, where, "glue")}


def _task(media_type: str, choices: list[str] | None, clue: dict | None, where: Where) -> str:
    if choices:
        return "grounded_qa" if clue else "mcq"
    if clue:
        return "temporal_grounding" if media_type == "video" else "spatial_grounding"
    raise where.error("neither options nor a glue: cannot tell the task")


def _untagged(text: object) -> object:
    return _TAG.sub("", text).strip() if isinstance(text, str) else text


CONVERTER = Converter(
    name=SOURCE,
    summary="VideoChat-R1 / R1.5 released training JSON",
    convert=convert,
)
