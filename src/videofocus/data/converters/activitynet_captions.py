"""ActivityNet Captions (`train.json`, `val_1.json`, `val_2.json`): a JSON object
`{video_id: {"duration": s, "timestamps": [[s, e], ...], "sentences": [...]}}`.

Each (timestamp, sentence) pair becomes a temporal grounding sample `activitynet_captions/VIDEO#k`
over `VIDEO.mp4` (ids keep their `v_` prefix, as the released videos are named). Timestamps are kept
as annotated (--clip-to-duration cuts ends to the video); the VideoChat-R1 release ships Charades-STA in this same layout, so this
converter reads that too (use --source to name it)."""

from __future__ import annotations

from collections.abc import Iterator

from videofocus.data.converters.common import (ConvertOptions, Converter, Where, checked_intervals, convert_each,
                                               get_field, intervals_from, make_sample, read_json_object,
                                               to_float)
from videofocus.schema import Sample

SOURCE = "activitynet_captions"


def convert(options: ConvertOptions) -> Iterator[Sample]:
    source = options.source_or(SOURCE)
    videos = read_json_object(options.input)
    records = ((Where(options.input, record=video_id), (video_id, entry)) for video_id, entry in videos.items())

    def to_samples(where: Where, item: tuple[str, object]) -> list[Sample]:
        video_id, entry = item
        if not isinstance(entry, dict):
            raise where.error(f"expected an object with duration/timestamps/sentences, got {entry!r}")
        duration = to_float(get_field(entry, "duration", where), where, "duration")
        timestamps = get_field(entry, "timestamps", where, list)
        sentences = get_field(entry, "sentences", where, list)
        if len(timestamps) != len(sentences):
            raise where.error(f"{len(timestamps)} timestamps but {len(sentences)} sentences", "sentences")
        media = {"type": "video", "path": options.media_path(f"{video_id}{options.video_ext}"), "duration": duration}
        samples = []
        for index, (times, sentence) in enumerate(zip(timestamps, sentences, strict=True)):
            field = f"timestamps[{index}]"
            intervals = checked_intervals(intervals_from(times, where, field), duration, where, field,
                                          clip_to_duration=options.clip_to_duration)
            if not isinstance(sentence, str) or not sentence.strip():
                raise where.error("expected a non-empty sentence", f"sentences[{index}]")
            samples.append(make_sample(
                where, id=f"{source}/{video_id}#{index}", task="temporal_grounding", source=source,
                media=media, question=sentence.strip(), clue={"intervals": intervals}))
        return samples

    return convert_each(records, to_samples, options)


CONVERTER = Converter(
    name=SOURCE,
    summary="ActivityNet Captions train.json / val_*.json",
    convert=convert,
    accepts=frozenset({"video_ext", "clip_to_duration"}),
)
