"""RefCOCO / RefCOCO+ / RefCOCOg in their original release (github.com/lichengunc/refer):
`refcoco/refs(unc).p` (a pickled list of refs `{"ref_id", "ann_id", "image_id", "split",
"sentences": [{"sent_id", "sent", "raw", ...}], ...}`) beside `instances.json` (COCO style:
`images` with file_name/width/height, `annotations` with `bbox` [x, y, w, h]).

--input is the refs pickle. A pickle can run code when loaded, so it is read only with
--allow-pickle, and then by an unpickler that builds nothing but plain lists, dicts, strings and
numbers. The release was pickled by Python 2, whose strings are bytes: they are read as UTF-8 text,
or as Latin-1 for a string that is not valid UTF-8 (so one odd byte does not fail the whole file).
Every sentence becomes a spatial grounding sample `refcoco/REF#SENT` (the folder name,
e.g. `refcoco+`, is the source) over the COCO image, the box in [x0, y0, x1, y1] pixels; --split
keeps one split (train, val, testA, testB, test)."""

from __future__ import annotations

import io
import pickle
from collections.abc import Iterator
from pathlib import Path

from videofocus.data.converters.common import (ConvertOptions, Converter, Where, convert_each, get_field,
                                               make_sample, read_json_object, require_file, to_float)
from videofocus.errors import ConfigError, DataError
from videofocus.schema import Sample

SOURCE = "refcoco"
_PLAIN_TYPES = {"list", "dict", "tuple", "set", "frozenset", "str", "bytes", "int", "float", "bool", "complex"}
_BUILTIN_MODULES = {"builtins", "__builtin__"}  # Python 3's name, Python 2's (mapped by the unpickler)


class _PlainDataUnpickler(pickle.Unpickler):
    """Refuses every global except plain builtin containers and scalars, so loading cannot run code."""

    def find_class(self, module: str, name: str):
        if module in _BUILTIN_MODULES and name in _PLAIN_TYPES:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only plain data is allowed")


def load_plain_pickle(path: Path) -> object:
    """Unpickle a file that may hold only lists, dicts, tuples, sets, strings and numbers. Byte
    strings (Python 2's str) come back as text: UTF-8, else Latin-1."""
    data = require_file(path, "file").read_bytes()
    try:
        value = _PlainDataUnpickler(io.BytesIO(data), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as exc:
        raise DataError(f"cannot read the pickle as plain data: {exc}", path=str(path)) from None
    return _as_text(value)


def _as_text(value: object) -> object:
    """`value` with every byte string, however deeply nested, decoded to text."""
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value.decode("latin-1")
    if isinstance(value, dict):
        return {_as_text(key): _as_text(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return type(value)(_as_text(item) for item in value)
    return value


def convert(options: ConvertOptions) -> Iterator[Sample]:
    if not options.allow_pickle:
        raise ConfigError(f"{options.input} is a pickle, and loading a pickle can run code: pass --allow-pickle "
                          "to read it (only plain lists/dicts/strings/numbers are accepted)")
    source = options.source_or(_source_from_folder(options.input))
    refs = load_plain_pickle(options.input)
    if not isinstance(refs, list):
        raise DataError(f"expected a list of refs, got {type(refs).__name__}", path=str(options.input))
    images, boxes = _read_instances(options.input.parent / "instances.json")

    def to_samples(where: Where, ref: object) -> list[Sample]:
        if not isinstance(ref, dict):
            raise where.error(f"expected a ref object, got {ref!r}")
        if options.split is not None and ref.get("split") != options.split:
            return []
        image = images.get(get_field(ref, "image_id", where, int))
        box = boxes.get(get_field(ref, "ann_id", where, int))
        if image is None or box is None:
            raise where.error("its image_id or ann_id is not in instances.json")
        samples = []
        for index, sentence in enumerate(get_field(ref, "sentences", where, list)):
            at = where.at(f"sentences[{index}]")
            if not isinstance(sentence, dict):
                raise at.error(f"expected a sentence object, got {sentence!r}")
            samples.append(make_sample(
                at, id=f"{source}/{ref.get('ref_id')}#{get_field(sentence, 'sent_id', at, (int, str))}",
                task="spatial_grounding", source=source,
                media={"type": "image", "path": options.media_path(image["file_name"]),
                       "width": image["width"], "height": image["height"]},
                question=get_field(sentence, "sent", at, str).strip(), clue={"boxes": [box]},
                meta={"split": ref["split"]} if isinstance(ref.get("split"), str) else None))
        return samples

    records = ((Where(options.input, record=f"[{index}]"), ref) for index, ref in enumerate(refs))
    return convert_each(records, to_samples, options)


def _source_from_folder(path: Path) -> str:
    folder = path.parent.name
    return folder if folder.startswith("refcoco") else SOURCE


def _read_instances(path: Path) -> tuple[dict[int, dict], dict[int, list[float]]]:
    """image id -> {file_name, width, height}, annotation id -> box [x0, y0, x1, y1]."""
    instances = read_json_object(path)
    images = {}
    for index, image in enumerate(instances.get("images") or []):
        where = Where(path, record=f"images[{index}]")
        images[get_field(image, "id", where, int)] = {
            "file_name": get_field(image, "file_name", where, str),
            "width": get_field(image, "width", where, int), "height": get_field(image, "height", where, int)}
    boxes = {}
    for index, annotation in enumerate(instances.get("annotations") or []):
        where = Where(path, record=f"annotations[{index}]")
        x, y, w, h = (to_float(value, where, "bbox") for value in _four(annotation.get("bbox"), where))
        boxes[get_field(annotation, "id", where, int)] = [x, y, x + w, y + h]
    return images, boxes


def _four(value: object, where: Where) -> list:
    if not isinstance(value, list) or len(value) != 4:
        raise where.error(f"expected [x, y, w, h], got {value!r}", "bbox")
    return value


CONVERTER = Converter(
    name=SOURCE,
    summary="RefCOCO/+/g refs(*).p + instances.json, --allow-pickle",
    convert=convert,
    accepts=frozenset({"allow_pickle", "split"}),
)
