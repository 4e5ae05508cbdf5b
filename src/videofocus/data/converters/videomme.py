"""Video-MME (lmms-lab/Video-MME on Hugging Face: `videomme/test-00000-of-00001.parquet`; a JSON
list or JSONL of the same rows works too): `video_id, duration ("short"|"medium"|"long"), domain,
sub_category, url, videoID, question_id, task_type, question, options ["A. …", …], answer ("C")`.

Samples `videomme/QUESTION_ID` over `videoID.mp4`; option labels ("A. ") are stripped (the letters
are implied by order). The source is `videomme/DURATION` (`videomme/short`, …), the source group
`videofocus score` reports `Acc/short`, `Acc/medium`, `Acc/long` by; the duration category, domain,
sub-category and task type also go to meta. Reading parquet needs pyarrow."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from videofocus.data.converters.common import (ConvertOptions, Converter, Where, answer_letter, convert_each,
                                               get_field, iter_json_records, make_sample, require_file,
                                               strip_option_label)
from videofocus.errors import ConfigError, DataError
from videofocus.schema import Sample

SOURCE = "videomme"
META_FIELDS = {"duration": "duration_category", "domain": "domain", "sub_category": "sub_category",
               "task_type": "task_type"}


def convert(options: ConvertOptions) -> Iterator[Sample]:
    source = options.source_or(SOURCE)

    def to_samples(where: Where, row: dict) -> list[Sample]:
        choices = [strip_option_label(str(option), index)
                   for index, option in enumerate(get_field(row, "options", where, list))]
        answer = row.get("answer")
        meta = {name: row[field] for field, name in META_FIELDS.items() if isinstance(row.get(field), str)}
        group = f"{source}/{meta['duration_category']}" if meta.get("duration_category") else source
        return [make_sample(
            where, id=f"{source}/{get_field(row, 'question_id', where, str)}", task="mcq", source=group,
            media={"type": "video", "path": options.media_path(f"{get_field(row, 'videoID', where, str)}"
                                                               f"{options.video_ext}")},
            question=get_field(row, "question", where, str).strip(), options=choices,
            answer=answer_letter(answer, choices, where, "answer") if answer else None, meta=meta or None)]

    rows = _parquet_rows(options.input) if options.input.suffix == ".parquet" else iter_json_records(options.input)
    return convert_each(rows, to_samples, options)


def _parquet_rows(path: Path) -> Iterator[tuple[Where, dict]]:
    require_file(path, "file")
    try:
        import pyarrow.parquet as parquet
    except ImportError:
        raise ConfigError("reading parquet needs pyarrow: pip install pyarrow (or convert the file to JSON)") from None
    try:
        table = parquet.read_table(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a broken file
        raise DataError(f"cannot read parquet: {exc}", path=str(path)) from None
    for index, row in enumerate(table.to_pylist()):
        yield Where(path, record=f"row {index}"), row


CONVERTER = Converter(
    name=SOURCE,
    summary="Video-MME test parquet (or the same rows as JSON)",
    convert=convert,
    accepts=frozenset({"video_ext"}),
)
