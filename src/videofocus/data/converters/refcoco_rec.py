"""RefCOCO / RefCOCO+ / RefCOCOg in the JSON form most MLLM projects evaluate on: Shikra's
`REC_refcoco_unc_val.jsonl` files (also used by VideoChat-R1.5's evaluation, NExT-Chat and others),
one expression a record: `{"img_path": "COCO_train2014_….jpg", "expression": "…",
"bbox": [x0, y0, x1, y1] (pixels), "height", "width", ...}`. JSONL or a JSON list.

The source and split come from the file name (`REC_refcoco+_unc_testA.jsonl` -> `refcoco+`,
`testA`); samples `refcoco+/testA#k` are spatial grounding over the COCO image (media root at run
time: COCO's train2014/)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from videofocus.data.converters.common import (ConvertOptions, Converter, Where, convert_each, get_field,
                                               iter_json_records, make_sample, to_float)
from videofocus.schema import Sample

NAME = "refcoco_rec"
_FILE_NAME = re.compile(r"REC_(refcoco\+?|refcocog)_[a-z]+_(\w+)$")


def convert(options: ConvertOptions) -> Iterator[Sample]:
    match = _FILE_NAME.match(options.input.stem)
    source = options.source_or(match.group(1) if match else "refcoco")
    split = match.group(2) if match else options.input.stem
    records = ((where, (index, record)) for index, (where, record) in enumerate(iter_json_records(options.input)))

    def to_samples(where: Where, item: tuple[int, dict]) -> list[Sample]:
        index, record = item
        box = get_field(record, "bbox", where, list)
        if len(box) != 4:
            raise where.error(f"expected [x0, y0, x1, y1], got {box!r}", "bbox")
        media = {"type": "image", "path": options.media_path(get_field(record, "img_path", where, str))}
        for side in ("width", "height"):
            if record.get(side) is not None:
                media[side] = int(to_float(record[side], where, side))
        return [make_sample(
            where, id=f"{source}/{split}#{index}", task="spatial_grounding", source=source, media=media,
            question=get_field(record, "expression", where, str).strip(),
            clue={"boxes": [[to_float(value, where, "bbox") for value in box]]}, meta={"split": split})]

    return convert_each(records, to_samples, options)


CONVERTER = Converter(
    name=NAME,
    summary="RefCOCO/+/g Shikra-style REC_*.jsonl",
    convert=convert,
)
