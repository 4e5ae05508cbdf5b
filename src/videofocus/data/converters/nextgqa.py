"""NExT-GQA (github.com/doc-doc/NExT-GQA, `datasets/nextgqa/`): questions in `{val,test}.csv`
(`video_id,frame_count,width,height,question,answer,qid,type,a0,a1,a2,a3,a4`, the answer as the
text of the correct option), time spans in `gsub_{val,test}.json`
(`{video_id: {"duration", "location": {qid: [[s, e], ...]}, "fps"}}`) and video paths in
`map_vid_vidorID.json` (`{video_id: "0000/2440175990"}`).

--input is the CSV. The other two files are found beside it, by this rule:

- the split is --split, else the CSV's name (`val.csv` → val);
- the time spans are `gsub_<split>.json`; the train split has none (its samples are plain
  multiple-choice questions), every other split must have them;
- the video map is `map_vid_vidorID.json` (shipped with NExT-QA), for every split.

A file the rule names but that is not there is an error naming the path looked for. Samples
`nextgqa/VIDEO#QID` are grounded multiple-choice over `<mapped path>.mp4` with the question type
(CW, CH, TN, TC, ...) in meta."""

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
TRAIN_SPLIT = "train"  # NExT-GQA grounds only val and test


def convert(options: ConvertOptions) -> Iterator[Sample]:
    source = options.source_or(SOURCE)
    split = options.split or options.input.stem
    spans = None if split == TRAIN_SPLIT else _read_beside(options.input, f"gsub_{split}.json", f"the {split} time spans")
    video_map = _checked_video_map(_read_beside(options.input, VIDEO_MAP, "the video map (video id → folder/id)"),
                                options.input.parent / VIDEO_MAP)

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


def _read_beside(csv: Path, name: str, what: str) -> dict:
    """The JSON object file `name` beside the CSV; DataError naming the path looked for otherwise."""
    path = csv.parent / name
    if not path.is_file():
        raise DataError(f"{what} not found: looked for {name} beside {csv.name} (the rule: gsub_<split>.json and "
                        f"{VIDEO_MAP} beside the CSV; the split is --split or the CSV's name)", path=str(path))
    return read_json_object(path)


def _checked_video_map(video_map: dict, path: Path) -> dict[str, str]:
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
