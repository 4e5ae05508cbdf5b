"""NExT-GQA (github.com/doc-doc/NExT-GQA, `datasets/nextgqa/`): questions in `{val,test}.csv`
(`video_id,frame_count,width,height,question,answer,qid,type,a0,a1,a2,a3,a4`, the answer as the
text of the correct option), time spans in `gsub_{val,test}.json`
(`{video_id: {"duration", "location": {qid: [[s, e], ...]}, "fps"}}`) and video paths in
`map_vid_vidorID.json` (`{video_id: "0000/2440175990"}`).

--input is the CSV; the spans and the map are read from beside it (`gsub_<split>.json`, the split
taken from --split or the CSV's name). Samples `nextgqa/VIDEO#QID` are grounded multiple-choice
over `<mapped path>.mp4` with the question type (CW, CH, TN, TC, ...) in meta. Without a spans
file (train.csv) the samples are plain multiple-choice questions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from videofocus.data.converters.common import (ConvertOptions, Converter, Where, answer_letter, checked_intervals,
                                               convert_each, intervals_from, iter_csv_rows, make_sample,
                                               read_json_object, to_float)
from videofocus.errors import DataError
from videofocus.schema import Sample

SOURCE = "nextgqa"
OPTION_COLUMNS = ("a0", "a1", "a2", "a3", "a4")
COLUMNS = ("video_id", "width", "height", "question", "answer", "qid", "type", *OPTION_COLUMNS)
VIDEO_MAP = "map_vid_vidorID.json"


def convert(options: ConvertOptions) -> Iterator[Sample]:
    source = options.source_or(SOURCE)
    spans = _read_spans(options.input.parent / f"gsub_{options.split or options.input.stem}.json",
                        required=options.split is not None)
    video_map = _read_video_map(options.input.parent / VIDEO_MAP)

    def to_samples(where: Where, row: dict[str, str]) -> list[Sample]:
        video_id, qid = row["video_id"], row["qid"]
        choices = [row[column].strip() for column in OPTION_COLUMNS]
        duration, clue = None, None
        if spans is not None:
            duration, clue = _grounding(spans, video_id, qid, where, options.clip_to_duration)
        return [make_sample(
            where, id=f"{source}/{video_id}#{qid}", task="grounded_qa" if spans is not None else "mcq",
            source=source,
            media={"type": "video", "duration": duration,
                   "path": options.media_path(f"{video_map.get(video_id, video_id)}{options.video_ext}"),
                   "width": _dimension(row, "width", where), "height": _dimension(row, "height", where)},
            question=row["question"].strip(), options=choices,
            answer=answer_letter(row["answer"], choices, where, "answer"), clue=clue,
            meta={"type": row["type"]})]

    return convert_each(iter_csv_rows(options.input, COLUMNS), to_samples, options)


def _grounding(spans: dict, video_id: str, qid: str, where: Where, clip_to_duration: bool) -> tuple[float, dict]:
    video = spans.get(video_id)
    if not isinstance(video, dict) or qid not in (video.get("location") or {}):
        raise where.error(f"no time span for video {video_id} question {qid} in the gsub file", "qid")
    duration = to_float(video.get("duration"), where, "duration")
    field = f"location[{qid}]"
    intervals = checked_intervals(intervals_from(video["location"][qid], where, field), duration, where, field,
                                  clip_to_duration=clip_to_duration)
    return duration, {"intervals": intervals}


def _dimension(row: dict[str, str], column: str, where: Where) -> int | None:
    value = row.get(column, "").strip()
    return int(to_float(value, where, column)) if value else None


def _read_spans(path: Path, *, required: bool) -> dict | None:
    """The time spans; a split named explicitly must have them, train.csv has none."""
    if path.is_file() or required:
        return read_json_object(path)
    return None


def _read_video_map(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    video_map = read_json_object(path)
    bad = next((key for key, value in video_map.items() if not isinstance(value, str)), None)
    if bad is not None:
        raise DataError(f"video paths must be strings, got {video_map[bad]!r}", path=str(path), field=bad)
    return video_map


CONVERTER = Converter(
    name=SOURCE,
    summary="NExT-GQA {val,test}.csv + gsub_*.json + video map",
    convert=convert,
    accepts=frozenset({"split", "video_ext", "clip_to_duration"}),
)
