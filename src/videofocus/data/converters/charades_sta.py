"""Charades-STA (`charades_sta_{train,test}.txt`): one query a line, `VIDEO START END##sentence`.

Durations come from the Charades release's `Charades_v1_{train,test}.csv` (`id`, `length` columns)
given as --durations, or from probing the videos under --media-root; without either the samples
carry no duration. Annotated ends past the video's end are kept as the official evaluation scores
them; --clip-to-duration cuts them to the video (as some loaders do). Sample ids are `charades_sta/VIDEO#k`, k counting that video's queries in file order."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from videofocus.data.converters.common import (ConvertOptions, Converter, DurationLookup, Where, checked_intervals,
                                               convert_each, make_sample, to_float)
from videofocus.jsonfiles import iter_nonblank_lines
from videofocus.schema import Sample

SOURCE = "charades_sta"


def convert(options: ConvertOptions) -> Iterator[Sample]:
    source = options.source_or(SOURCE)
    durations = DurationLookup(options)
    seen: Counter[str] = Counter()

    def to_samples(where: Where, text: str) -> list[Sample]:
        video_id, start, end, sentence = _parse_line(text, where)
        media_path = options.media_path(f"{video_id}{options.video_ext}")
        duration = durations(video_id, media_path, where)
        intervals = checked_intervals([[start, end]], duration, where, "times",
                                      clip_to_duration=options.clip_to_duration)
        index = seen[video_id]
        seen[video_id] += 1
        return [make_sample(
            where, id=f"{source}/{video_id}#{index}", task="temporal_grounding", source=source,
            media={"type": "video", "path": media_path, "duration": duration},
            question=sentence, clue={"intervals": intervals})]

    lines = ((Where(options.input, line=number), text) for number, text in iter_nonblank_lines(options.input))
    return convert_each(lines, to_samples, options)


def _parse_line(text: str, where: Where) -> tuple[str, float, float, str]:
    head, separator, sentence = text.strip().partition("##")
    parts = head.split()
    if not separator or len(parts) != 3 or not sentence.strip():
        raise where.error(f"expected 'VIDEO START END##sentence', got {text.strip()!r}")
    video_id, start, end = parts
    return video_id, to_float(start, where, "start"), to_float(end, where, "end"), sentence.strip()


CONVERTER = Converter(
    name=SOURCE,
    summary="Charades-STA .txt lines 'VIDEO START END##sentence'",
    convert=convert,
    accepts=frozenset({"durations", "media_root", "video_ext", "clip_to_duration"}),
)
