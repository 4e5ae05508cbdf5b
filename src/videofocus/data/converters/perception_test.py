"""Perception Test multiple-choice video QA (`mc_question_{train,valid,test}.json`, or the full
`all_*.json` annotations): a JSON object `{video_id: {"metadata": {"video_id", "split",
"num_frames", "frame_rate", "resolution": [height, width], ...}, "mc_question": [{"id",
"question", "options": [3 texts], "answer_id", "area", "reasoning", "tag"}, ...], ...}}`.

Samples `perception_test/VIDEO#ID` over `VIDEO.mp4`, duration = num_frames / frame_rate, with
area and reasoning in meta; --split keeps the videos of one split. The test split has no
`answer_id`: those samples carry no answer."""

from __future__ import annotations

from collections.abc import Iterator

from videofocus.data.converters.common import (ConvertOptions, Converter, Where, answer_letter, convert_each,
                                               get_field, make_sample, read_json_object, to_float)
from videofocus.schema import Sample

SOURCE = "perception_test"


def convert(options: ConvertOptions) -> Iterator[Sample]:
    source = options.source_or(SOURCE)
    videos = read_json_object(options.input)
    records = ((Where(options.input, record=video_id), (video_id, entry)) for video_id, entry in videos.items())

    def to_samples(where: Where, item: tuple[str, object]) -> list[Sample]:
        video_id, entry = item
        if not isinstance(entry, dict):
            raise where.error(f"expected an object with metadata and mc_question, got {entry!r}")
        metadata = get_field(entry, "metadata", where, dict)
        if options.split is not None and metadata.get("split") != options.split:
            return []
        media = _media(video_id, metadata, options, where.at("metadata"))
        samples = []
        for index, question in enumerate(entry.get("mc_question") or []):
            at = where.at(f"mc_question[{index}]")
            if not isinstance(question, dict):
                raise at.error(f"expected a question object, got {question!r}")
            choices = [str(text).strip() for text in get_field(question, "options", at, list)]
            answer_id = question.get("answer_id")
            answer = answer_letter(_index(answer_id, at), choices, at, "answer_id") if answer_id is not None else None
            meta = {key: question[key] for key in ("area", "reasoning") if isinstance(question.get(key), str)}
            samples.append(make_sample(
                at, id=f"{source}/{video_id}#{get_field(question, 'id', at, (int, str))}", task="mcq",
                source=source, media=media, question=get_field(question, "question", at, str).strip(),
                options=choices, answer=answer, meta=meta or None))
        return samples

    return convert_each(records, to_samples, options)


def _index(value: object, where: Where) -> int:
    number = to_float(value, where, "answer_id")
    if not number.is_integer():
        raise where.error(f"expected an option index, got {value!r}", "answer_id")
    return int(number)


def _media(video_id: str, metadata: dict, options: ConvertOptions, where: Where) -> dict:
    media = {"type": "video", "path": options.media_path(f"{video_id}{options.video_ext}")}
    if metadata.get("num_frames") and metadata.get("frame_rate"):
        media["duration"] = (to_float(metadata["num_frames"], where, "num_frames")
                             / to_float(metadata["frame_rate"], where, "frame_rate"))
    resolution = metadata.get("resolution")
    if isinstance(resolution, list) and len(resolution) == 2:
        media["height"], media["width"] = (int(to_float(side, where, "resolution")) for side in resolution)
    return media


CONVERTER = Converter(
    name=SOURCE,
    summary="Perception Test mc_question_*.json",
    convert=convert,
    accepts=frozenset({"split", "video_ext"}),
)
