"""ReXTime (`rextime_{train,val,test}.json` of the Hugging Face release ReXTime/ReXTime, a JSON
list; a JSONL file of the same records works too): `{"qid", "vid", "duration", "question",
"options": [4 texts], "ans": "A", "span": [s, e], "category", "source", ...}`.

Grounded multiple-choice samples `rextime/QID` over `vid.mp4` (`v_…` ActivityNet ids and
`YOUTUBEID_START_END` QVHighlights clips); the answer is `ans`, the clue is `span` (the evaluation
file's `relevant_windows` is accepted too), `category` goes to meta. The test release has no
`ans`/`span`: those samples carry neither.

The GitHub evaluation ground truth (`data/rextime_val.jsonl`: `qid, query, duration, vid,
relevant_windows, ans`) has no options: its records become temporal grounding samples (question
from `query`, `ans` kept in meta as `ans`), for grounding-only scoring (`--benchmark
temporal_grounding`: mIoU and R@0.3/0.5 as rextime_eval.py's moment retrieval computes them)."""

from __future__ import annotations

from collections.abc import Iterator

from videofocus.data.converters.common import (ConvertOptions, Converter, DurationLookup, Where, answer_letter,
                                               checked_intervals, convert_each, get_field, intervals_from,
                                               iter_json_records, make_sample, to_float)
from videofocus.schema import Sample

SOURCE = "rextime"


def convert(options: ConvertOptions) -> Iterator[Sample]:
    source = options.source_or(SOURCE)
    durations = DurationLookup(options)

    def to_samples(where: Where, record: dict) -> list[Sample]:
        video_id = get_field(record, "vid", where, str)
        media_path = options.media_path(f"{video_id}{options.video_ext}")
        if record.get("duration") is not None:
            duration = to_float(record["duration"], where, "duration")
        else:
            duration = durations(video_id, media_path, where)
        span = record.get("span", record.get("relevant_windows"))
        clue = None
        if span is not None:
            clue = {"intervals": checked_intervals(intervals_from(span, where, "span"), duration, where, "span",
                                                     clip_to_duration=options.clip_to_duration)}
        qid = get_field(record, "qid", where, (str, int))
        media = {"type": "video", "path": media_path, "duration": duration}
        if "options" not in record:
            return [_grounding_only(record, where, f"{source}/{qid}", source, media, clue)]
        options_ = [str(option).strip() for option in get_field(record, "options", where, list)]
        answer = answer_letter(record["ans"], options_, where, "ans") if record.get("ans") is not None else None
        category = record.get("category")
        return [make_sample(
            where, id=f"{source}/{qid}", task="grounded_qa", source=source, media=media,
            question=get_field(record, "question", where, str).strip(), options=options_, answer=answer,
            clue=clue, meta={"category": category} if isinstance(category, str) else None)]

    return convert_each(iter_json_records(options.input), to_samples, options)


def _grounding_only(record: dict, where: Where, sample_id: str, source: str, media: dict, clue: dict | None) -> Sample:
    """A record of the evaluation ground truth (no options): its query and windows as temporal grounding."""
    if clue is None:
        raise where.error("a record without options needs relevant_windows (or span) to be scored", "relevant_windows")
    question = record.get("question", record.get("query"))
    if not isinstance(question, str):
        raise where.error(f"expected the query as text, got {question!r}", "query")
    answer = record.get("ans")
    return make_sample(where, id=sample_id, task="temporal_grounding", source=source, media=media,
                       question=question.strip(), clue=clue, meta={"ans": answer} if isinstance(answer, str) else None)


CONVERTER = Converter(
    name=SOURCE,
    summary="ReXTime rextime_*.json (Hugging Face release) or rextime_val.jsonl (GitHub eval)",
    convert=convert,
    accepts=frozenset({"video_ext", "durations", "media_root", "clip_to_duration"}),
)
