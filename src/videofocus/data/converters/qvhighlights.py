"""QVHighlights moment retrieval (`highlight_{train,val,test}_release.jsonl`): one query a line,
`{"qid", "query", "duration", "vid", "relevant_windows": [[s, e], ...], ...}`.

`vid` (`YOUTUBEID_START_END`) names the 150 s clip `vid.mp4`. `relevant_clip_ids` and
`saliency_scores` (2 s clips, 3 annotators) become `clue.saliency`, which highlight detection
scores. The test release has no `relevant_windows`: those samples carry no clue (predict, then
score on the official server)."""

from __future__ import annotations

from collections.abc import Iterator

from videofocus.data.converters.common import (ConvertOptions, Converter, Where, checked_intervals, convert_each,
                                               get_field, intervals_from, make_sample, to_float)
from videofocus.jsonfiles import iter_jsonl
from videofocus.schema import Sample

SOURCE = "qvhighlights"
CLIP_SECONDS = 2.0  # QVHighlights annotates saliency per 2 s clip


def convert(options: ConvertOptions) -> Iterator[Sample]:
    source = options.source_or(SOURCE)

    def to_samples(where: Where, record: dict) -> list[Sample]:
        qid = get_field(record, "qid", where, (int, str))
        video_id = get_field(record, "vid", where, str)
        duration = to_float(get_field(record, "duration", where), where, "duration")
        clue = None
        if record.get("relevant_windows") is not None:
            windows = intervals_from(record["relevant_windows"], where, "relevant_windows")
            clue = {"intervals": checked_intervals(windows, duration, where, "relevant_windows",
                                                     clip_to_duration=options.clip_to_duration),
                    "saliency": _saliency(record, where)}
        return [make_sample(
            where, id=f"{source}/{qid}", task="temporal_grounding", source=source,
            media={"type": "video", "path": options.media_path(f"{video_id}{options.video_ext}"),
                   "duration": duration},
            question=get_field(record, "query", where, str).strip(), clue=clue)]

    records = ((Where(options.input, line=number), record) for number, record in iter_jsonl(options.input))
    return convert_each(records, to_samples, options)


def _saliency(record: dict, where: Where) -> dict | None:
    """The annotated clips and their scores, or None when the record has none."""
    if record.get("relevant_clip_ids") is None or record.get("saliency_scores") is None:
        return None
    clip_ids = get_field(record, "relevant_clip_ids", where, list)
    if not all(isinstance(clip, int) and not isinstance(clip, bool) for clip in clip_ids):
        raise where.error(f"expected clip indices, got {clip_ids!r}", "relevant_clip_ids")
    scores = get_field(record, "saliency_scores", where, list)
    if not all(isinstance(row, list) for row in scores):
        raise where.error("expected one list of annotator scores per clip", "saliency_scores")
    return {"clip_length": CLIP_SECONDS, "clip_ids": clip_ids,
            "scores": [[to_float(value, where, "saliency_scores") for value in row] for row in scores]}


CONVERTER = Converter(
    name=SOURCE,
    summary="QVHighlights highlight_*_release.jsonl",
    convert=convert,
    accepts=frozenset({"video_ext", "clip_to_duration"}),
)
