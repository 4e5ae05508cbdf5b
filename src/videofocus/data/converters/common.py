"""What every converter shares: the options, the converter record, source locations that turn into
DataErrors, reading JSON/JSONL/CSV sources, and the small normalisations (option labels, answer
letters, interval clipping, video durations) that several dataset formats need."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError

from videofocus.errors import DataError, VideoFocusError
from videofocus.jsonfiles import iter_jsonl, read_json
from videofocus.jsonfiles import read_json_object as schema_read_json_object
from videofocus.letters import OPTION_LETTERS
from videofocus.schema import Sample, validation_problem

Record = TypeVar("Record")


@dataclass(frozen=True)
class ConvertOptions:
    """Everything a converter may read. Each converter says which optional fields it uses
    (`Converter.accepts`); the CLI refuses the others rather than silently ignoring them."""

    input: Path
    source: str | None = None           # the source tag and id prefix, instead of the converter's name
    split: str | None = None
    media_root: Path | None = None      # where the source media lie (probing, reading frames)
    durations: Path | None = None       # side file of video durations (CSV id,length or JSON)
    video_ext: str = ".mp4"             # extension of video files named after their id
    path_prefix: str = ""               # prepended to every media path written
    write_videos: Path | None = None    # encode frame folders as mp4 files here
    allow_pickle: bool = False          # the user explicitly allows reading a pickle file
    clip_to_duration: bool = False      # cut ground-truth ends to the video (default: as annotated)
    on_invalid: Callable[[DataError], None] | None = None   # None: a bad record stops the conversion

    def source_or(self, default: str) -> str:
        return self.source or default

    def media_path(self, name: str) -> str:
        """The sample's media path for a file called `name` in the source layout."""
        return f"{self.path_prefix}{name}"


# Options every converter honours; `Converter.accepts` lists the others it reads.
UNIVERSAL_OPTIONS = frozenset({"input", "source", "path_prefix", "on_invalid"})


@dataclass(frozen=True)
class Converter:
    """One source format: `convert(options)` streams its samples."""

    name: str
    summary: str
    convert: Callable[[ConvertOptions], Iterator[Sample]]
    accepts: frozenset[str] = frozenset()

    def unused_options(self, options: ConvertOptions) -> list[str]:
        """Options set away from their defaults that this converter would ignore."""
        defaults = ConvertOptions(input=options.input)
        return [name for name in ConvertOptions.__dataclass_fields__
                if name not in UNIVERSAL_OPTIONS | self.accepts
                and getattr(options, name) != getattr(defaults, name)]


@dataclass(frozen=True)
class Where:
    """A place in a source file (a line, or a record inside a JSON document) to blame in errors."""

    path: Path
    line: int | None = None
    record: str | None = None

    def error(self, message: str, field: str | None = None) -> DataError:
        blamed = ".".join(part for part in (self.record, field) if part)
        return DataError(message, path=str(self.path), line=self.line, field=blamed or None)

    def at(self, record: str) -> Where:
        """A record nested inside this one."""
        nested = f"{self.record}.{record}" if self.record else record
        return Where(self.path, self.line, nested)


def make_sample(where: Where, **fields) -> Sample:
    """A validated Sample; a field the schema refuses becomes a DataError naming the source record."""
    try:
        return Sample.model_validate(fields)
    except ValidationError as exc:
        message, field = validation_problem(exc)
        raise where.error(f"converted sample is invalid: {message} (sample field '{field}')") from None


def convert_each(records: Iterable[tuple[Where, Record]],
                 to_samples: Callable[[Where, Record], Iterable[Sample]],
                 options: ConvertOptions) -> Iterator[Sample]:
    """Samples of every record in order. A record that raises DataError stops the conversion,
    unless `options.on_invalid` is set: then it is reported there and skipped."""
    for where, record in records:
        try:
            samples = list(to_samples(where, record))
        except DataError as error:
            if options.on_invalid is None:
                raise
            options.on_invalid(error)
            continue
        yield from samples


def require_file(path: Path, what: str) -> Path:
    if not path.is_file():
        raise DataError(f"{what} not found", path=str(path))
    return path


def iter_json_records(path: Path, *, object_hint: str = "") -> Iterator[tuple[Where, dict]]:
    """The objects of a JSON list, or of a JSONL file (one per line), with their location.
    `object_hint` ends the error for a JSON object instead of a list (which converter reads it)."""
    if path.suffix == ".jsonl":
        for number, record in iter_jsonl(path):
            yield Where(path, line=number), record
        return
    document = read_json(path)
    if not isinstance(document, list):
        hint = object_hint if isinstance(document, dict) else ""
        raise DataError(f"expected a JSON list of records, got a JSON {type(document).__name__}{hint}", path=str(path))
    for index, record in enumerate(document):
        where = Where(path, record=f"[{index}]")
        if not isinstance(record, dict):
            raise where.error("each record must be a JSON object")
        yield where, record


def read_json_object(path: Path) -> dict:
    """A JSON document that must be an object (a mapping keyed by id, as many releases are)."""
    return schema_read_json_object(path, expected="a JSON object keyed by id")


def iter_csv_rows(path: Path, required: Iterable[str]) -> Iterator[tuple[Where, dict[str, str]]]:
    """CSV rows as dicts (header on the first line) with their line numbers."""
    require_file(path, "file")
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [name for name in required if name not in (reader.fieldnames or [])]
        if missing:
            raise DataError(f"CSV header lacks column(s) {', '.join(missing)}", path=str(path), line=1)
        for row in reader:
            yield Where(path, line=reader.line_num), row


def get_field(record: dict, name: str, where: Where, kind: type | tuple[type, ...] = object):
    """record[name], which must exist and be of `kind` (int counts as float)."""
    if name not in record or record[name] is None:
        raise where.error("missing field", name)
    value = record[name]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if float in kinds:
        kinds = (*kinds, int)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        expected = " or ".join(k.__name__ for k in kinds)
        raise where.error(f"expected {expected}, got {type(value).__name__} {value!r}", name)
    return value


def to_float(value: object, where: Where, field: str) -> float:
    """A number from JSON or text ('12.5'); DataError otherwise."""
    if isinstance(value, bool):
        raise where.error(f"expected a number, got {value!r}", field)
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise where.error(f"expected a number, got {value!r}", field) from None


def intervals_from(value: object, where: Where, field: str) -> list[list[float]]:
    """[[s, e], ...] from a list of pairs or a single [s, e] pair."""
    if isinstance(value, (list, tuple)) and len(value) == 2 and not isinstance(value[0], (list, tuple)):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(pair, (list, tuple)) and len(pair) == 2
                                                       for pair in value):
        raise where.error(f"expected [start, end] pairs, got {value!r}", field)
    return [[to_float(s, where, field), to_float(e, where, field)] for s, e in value]


def checked_intervals(intervals: list[list[float]], duration: float | None, where: Where, field: str, *,
                      clip_to_duration: bool = False) -> list[list[float]]:
    """Ground-truth intervals as annotated: the official evaluations score the raw annotation, ends
    past the video included (562 of Charades-STA's 3,720 test queries). A negative start becomes 0
    (the sample format has no time before 0). `clip_to_duration` cuts ends to the video, as some
    loaders do. DataError for an interval that ends before it starts or starts after the video ends."""
    checked = []
    for start, end in intervals:
        if end < start:
            raise where.error(f"interval [{start}, {end}] ends before it starts", field)
        if duration is not None and start >= duration and duration > 0:
            raise where.error(f"interval [{start}, {end}] starts after the video ends ({duration} s)", field)
        if clip_to_duration and duration is not None:
            end = min(end, duration)
        checked.append([max(0.0, start), end])
    return checked


_OPTION_LABEL = re.compile(r"^\s*\(?([A-Z])\s*[.):：]\s*")


def strip_option_label(option: str, index: int) -> str:
    """'B. a dog' -> 'a dog' when the label is the option's own letter; other text unchanged."""
    match = _OPTION_LABEL.match(option)
    if match and match.group(1) == OPTION_LETTERS[index]:
        return option[match.end():].strip()
    return option.strip()


_LETTER_ANSWER = re.compile(r"^\s*\(?([A-Z])\)?\s*(?:[.):：]\s*.*)?$", re.DOTALL)


def answer_letter(answer: object, options: list[str], where: Where, field: str) -> str:
    """The option letter an annotation's answer names: 'B', '(B)', 'B. text', the option's text, or
    its 0-based index as an int."""
    letters = OPTION_LETTERS[: len(options)]
    if isinstance(answer, int) and not isinstance(answer, bool):
        if 0 <= answer < len(options):
            return letters[answer]
        raise where.error(f"answer index {answer} is outside the {len(options)} options", field)
    if not isinstance(answer, str):
        raise where.error(f"expected the answer as text, got {answer!r}", field)
    wanted = answer.strip().casefold()
    matches = [letters[i] for i, option in enumerate(options) if option.strip().casefold() == wanted]
    if matches:
        return matches[0]
    match = _LETTER_ANSWER.match(answer)
    if match and match.group(1) in letters:
        return match.group(1)
    raise where.error(f"answer {answer!r} is neither an option letter ({letters}) nor one of the options", field)


class DurationLookup:
    """Video durations in seconds, from a side file (CSV with `id` and `length` or `duration`
    columns, or a JSON object id -> seconds or id -> {"duration": seconds}), else by probing the
    media under `media_root`, else unknown (None)."""

    def __init__(self, options: ConvertOptions):
        self._table = _read_duration_table(options.durations) if options.durations else None
        self._media_root = options.media_root
        self._source = options.durations

    def __call__(self, video_id: str, media_path: str, where: Where) -> float | None:
        if self._table is not None:
            if video_id not in self._table:
                raise where.error(f"video {video_id!r} is not in the durations file {self._source}")
            return self._table[video_id]
        if self._media_root is not None:
            return _probe_duration(self._media_root / media_path, where)
        return None


def _read_duration_table(path: Path) -> dict[str, float]:
    if path.suffix == ".json":
        table = {}
        for video_id, value in read_json_object(path).items():
            seconds = value.get("duration") if isinstance(value, dict) else value
            table[video_id] = to_float(seconds, Where(path, record=video_id), "duration")
        return table
    rows = iter_csv_rows(path, required=["id"])
    table = {}
    for where, row in rows:
        seconds = row.get("length", row.get("duration"))
        if seconds is None:
            raise where.error("the durations CSV needs a `length` or `duration` column")
        table[row["id"]] = to_float(seconds, where, "length")
    return table


def _probe_duration(path: Path, where: Where) -> float:
    from videofocus.media.video import probe  # decoding stack only when probing is asked for

    try:
        return float(probe(path).duration)
    except VideoFocusError as exc:
        raise where.error(f"cannot probe the video's duration: {exc}") from None
