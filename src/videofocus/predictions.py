"""Prediction files for scoring: JSONL, one object a line, keyed by sample id (SPEC "The one sample
format", last paragraph). Three forms of line:

- raw: `{"id": …, "output": "<raw model text>"}`, read with `parsing.parse_completion`;
- parsed: `{"id": …, "answer": "B", "intervals": [[s, e]], "boxes": [[x0, y0, x1, y1]],
  "track": [[x0, y0, x1, y1], …], "think": …}` (any subset of these keys; null means "not said"),
  plus what ranked benchmarks read (QVHighlights): `"interval_scores"`, one confidence per interval,
  and `"saliency"`, one score per clip of the video;
- failed: `{"id": …, "error": "undecodable video"}`: the run produced nothing for this sample; it is
  scored as wrong. Other keys on a line with a non-null `error` are ignored.

A line that mixes `output` with parsed keys is ambiguous and rejected, as are unknown keys (a typo such
as `interval` would otherwise score 0 silently). Parsed values are checked for shape (pairs and boxes
of finite numbers). Their geometry is not judged here, but normalised exactly as parse_completion
normalises raw output (parsing.normalise_intervals / normalise_boxes), so both forms score alike:
intervals are kept as given (a negative start is not clipped; a reversed window scores 0 where it is
scored, without voiding the others), and a reversed box leaves `boxes` null, a wrong prediction
rather than a broken file.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from functools import partial

from videofocus.errors import DataError
from videofocus.parsing import Prediction, normalise_boxes, normalise_intervals, parse_completion
from videofocus.jsonfiles import iter_jsonl

PARSED_KEYS = ("answer", "think", "intervals", "boxes", "track", "interval_scores", "saliency")
KNOWN_KEYS = frozenset(("id", "output", "error", *PARSED_KEYS))


@dataclass(frozen=True)
class FailedPrediction:
    """A sample the run could not answer (the line's `error`); scored as wrong."""

    error: str


PredictionLike = Prediction | FailedPrediction


@dataclass(frozen=True)
class PredictionRecord:
    """One line of a prediction file."""

    id: str
    prediction: PredictionLike
    line: int


def read_predictions(path: str | os.PathLike) -> Iterator[PredictionRecord]:
    """Every line of a prediction file, in order; DataError (file, line, field) on a malformed line."""
    for line, record in iter_jsonl(path):
        yield PredictionRecord(id=_record_id(record, path, line),
                               prediction=prediction_from_record(record, path=path, line=line), line=line)


def load_predictions(path: str | os.PathLike, *, known_ids: Collection[str] | None = None,
                     strict: bool = False, warn: Callable[[str], None] | None = None
                     ) -> dict[str, PredictionLike]:
    """Predictions by sample id. A repeated id keeps its first line; an id outside `known_ids` is
    dropped. Both are reported through `warn` (a message naming file and line), or raise DataError
    when `strict`. Malformed lines always raise, and so does a file without a line (a run that wrote
    nothing must not score as all-wrong in silence)."""
    predictions: dict[str, PredictionLike] = {}
    first_line: dict[str, int] = {}
    lines = 0
    for record in read_predictions(path):
        lines += 1
        if record.id in predictions:
            problem = DataError(f"duplicate id {record.id!r} (first at line {first_line[record.id]})",
                                path=str(path), line=record.line, field="id")
        elif known_ids is not None and record.id not in known_ids:
            problem = DataError(f"id {record.id!r} has no annotation", path=str(path), line=record.line,
                                field="id")
        else:
            predictions[record.id] = record.prediction
            first_line[record.id] = record.line
            continue
        if strict:
            raise problem
        if warn is not None:
            warn(f"{problem}; line ignored")
    if not lines:
        raise DataError("the prediction file holds no predictions (no non-blank line)", path=str(path))
    return predictions


def prediction_from_record(record: dict, *, path: str | os.PathLike = "<memory>",
                           line: int | None = None) -> PredictionLike:
    """The prediction one decoded line states (module docstring: the three forms)."""

    def fail(message: str, field: str | None = None) -> DataError:
        return DataError(message, path=str(path), line=line, field=field)

    unknown = sorted(set(record) - KNOWN_KEYS)
    if unknown:
        raise fail(f"unknown key(s) {', '.join(map(repr, unknown))}; a prediction line has "
                   f"{', '.join(sorted(KNOWN_KEYS))}", field=unknown[0])
    if record.get("error") is not None:
        if not isinstance(record["error"], str) or not record["error"].strip():
            raise fail("must be a non-empty string", field="error")
        return FailedPrediction(record["error"])
    parsed_keys = [key for key in PARSED_KEYS if key in record]
    if record.get("output") is not None:
        if parsed_keys:
            raise fail(f"gives both 'output' and parsed key(s) {', '.join(parsed_keys)}; keep one form",
                       field="output")
        if not isinstance(record["output"], str):
            raise fail("must be a string (the raw model text)", field="output")
        return parse_completion(record["output"])
    if not parsed_keys:
        raise fail("a prediction needs 'output', 'error', or at least one of " + ", ".join(PARSED_KEYS))
    values = {}
    for key in parsed_keys:
        try:
            values[key] = _READERS[key](record[key])
        except _BadValue as exc:
            raise fail(exc.message, field=f"{key}{exc.where}") from None
    if values.get("interval_scores") is not None and len(values["interval_scores"]) != len(values.get("intervals") or []):
        raise fail(f"{len(values['interval_scores'])} scores for {len(values.get('intervals') or [])} intervals",
                   field="interval_scores")
    return Prediction(raw="", **values)


class _BadValue(Exception):
    def __init__(self, message: str, where: str = ""):
        super().__init__(message)
        self.message, self.where = message, where


def _record_id(record: dict, path: str | os.PathLike, line: int) -> str:
    value = record.get("id")
    if not isinstance(value, str) or not value:
        raise DataError("must be a non-empty string", path=str(path), line=line, field="id")
    return value


def _text(value: object) -> str | None:
    if value is not None and not isinstance(value, str):
        raise _BadValue("must be a string or null")
    return value


def _groups(value: object, size: int, kind: type):
    """A list of `size`-number groups (intervals: 2, boxes: 4) as `kind`, or None for null."""
    if value is None:
        return None
    if not isinstance(value, list):
        raise _BadValue(f"must be a list of [{', '.join(['n'] * size)}] groups or null")
    groups = [kind(_finite_numbers(group, size, f"[{index}]")) for index, group in enumerate(value)]
    return groups or None  # an empty list says nothing, as parse_completion has it


def _intervals(value: object) -> list[tuple[float, float]] | None:
    return normalise_intervals(_groups(value, 2, tuple))


def _boxes(value: object) -> list[list[float]] | None:
    return normalise_boxes(_groups(value, 4, list))


def _numbers(value: object) -> list[float] | None:
    """A flat list of finite numbers (scores), or None for null."""
    if value is None:
        return None
    if not isinstance(value, list):
        raise _BadValue("must be a list of numbers or null")
    return _finite_numbers(value, len(value), "")


_READERS: dict[str, Callable[[object], object]] = {
    "answer": _text, "think": _text, "intervals": _intervals, "boxes": _boxes,
    "track": partial(_groups, size=4, kind=list), "interval_scores": _numbers, "saliency": _numbers,
}


def _finite_numbers(group: object, size: int, where: str) -> list[float]:
    if not isinstance(group, list) or len(group) != size:
        raise _BadValue(f"must be a list of {size} numbers", where)
    if not all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in group):
        raise _BadValue(f"must hold {size} finite numbers, got {group}", where)
    return [float(x) for x in group]
