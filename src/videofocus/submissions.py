"""Official submission files in and out: what benchmark leaderboards and their evaluation scripts
read, converted to and from predictions keyed by sample id.

Formats (`SUBMISSION_FORMATS`):

- `qvhighlights`, `rextime`: JSONL, one line a query: `{"qid", "pred_relevant_windows": [[s, e,
  score], …], "pred_saliency_scores": [one per 2 s clip], "ans": "B"}` (jayleicn/moment_detr
  standalone_eval; ReXTime evaluation/rextime_eval.py). Any other keys (`query`, `vid`) are ignored.
- `nextgqa`: a JSON object `{"<video_id>_<qid>": [s, e]}` (doc-doc/NExT-GQA eval_ground.py), and
  beside it the answers `{"<video_id>_<qid>": "B"}` (a letter, a 0-based option index, or an object
  with a `prediction` field as the official `*-res.json` has).
- `timechat`: a JSON object `{"<query_idx>": {"timestamp": [[s, e], …]}}` (TimeChat
  metrics/tvg/eval_tvg.py, which scores the first timestamp).

Keys: a submission key names the sample whose id, after its `<source>/` prefix, is that key
(`qvhighlights/2579` ↔ qid 2579, `rextime/qvh_val241` ↔ "qvh_val241"); for NExT-GQA the id's
`VIDEO#QID` is written `VIDEO_QID`. Written qids that are all digits are JSON numbers, as
QVHighlights has them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from videofocus.errors import DataError
from videofocus.jsonfiles import iter_jsonl
from videofocus.letters import OPTION_LETTERS
from videofocus.parsing import Prediction
from videofocus.predictions import PredictionLike, prediction_from_record
from videofocus.storage import atomic_writer

if TYPE_CHECKING:
    from videofocus.schema import Sample

SUBMISSION_FORMATS = ("qvhighlights", "rextime", "nextgqa", "timechat")


def official_key(sample_id: str, submission_format: str) -> str:
    """The key a submission of `submission_format` gives the sample `sample_id` (module docstring)."""
    key = sample_id.split("/", 1)[-1]
    return key.replace("#", "_") if submission_format == "nextgqa" else key


def answers_path(path: str | os.PathLike) -> Path:
    """Where the NExT-GQA answers of grounding file `path` lie: `NAME.answers.json` beside it."""
    path = Path(path)
    return path.with_name(f"{path.stem}.answers.json")


def read_submission(submission_format: str, path: str | os.PathLike, samples: Iterable[Sample], *,
                    answers: str | os.PathLike | None = None,
                    warn: Callable[[str], None] | None = None, strict: bool = False) -> dict[str, PredictionLike]:
    """Predictions by sample id from an official submission file. A key that names no sample is
    reported through `warn` (or raises DataError when `strict`); malformed entries always raise,
    naming the file, line or key, and field. An empty submission is an error."""
    by_key = {official_key(sample.id, submission_format): sample.id for sample in samples}
    entries = list(_READERS[submission_format](Path(path), answers))
    if not entries:
        raise DataError("the submission holds no predictions", path=str(path))
    if not any(key in by_key for key, _, _ in entries):
        raise DataError(f"none of the {len(entries)} submission keys names a sample (first key {entries[0][0]!r}; "
                        f"the annotations' keys look like {next(iter(by_key), '')!r}, their ids after the "
                        "'<source>/' prefix)", path=str(path))
    predictions: dict[str, PredictionLike] = {}
    for key, where, prediction in entries:
        sample_id = by_key.get(key)
        if sample_id is None or sample_id in predictions:
            problem = DataError(f"{'repeated key' if sample_id else 'no sample has the key'} {key!r}",
                                path=str(path), **where)
            if strict:
                raise problem
            if warn is not None:
                warn(f"{problem}; entry ignored")
            continue
        predictions[sample_id] = prediction
    return predictions


def _read_moment_jsonl(path: Path, _answers: Path | None):
    for line, record in iter_jsonl(path):
        if "qid" not in record:
            raise DataError("missing field", path=str(path), line=line, field="qid")
        fields = {}
        windows = record.get("pred_relevant_windows")
        if windows is not None:
            if not isinstance(windows, list) or not all(isinstance(w, list) and len(w) in (2, 3) for w in windows):
                raise DataError("must be a list of [start, end, score] windows", path=str(path), line=line,
                                field="pred_relevant_windows")
            fields["intervals"] = [window[:2] for window in windows]
            if windows and all(len(window) == 3 for window in windows):
                fields["interval_scores"] = [window[2] for window in windows]
        if record.get("pred_saliency_scores") is not None:
            fields["saliency"] = record["pred_saliency_scores"]
        if record.get("ans") is not None:
            fields["answer"] = record["ans"]
        yield str(record["qid"]), {"line": line}, _parsed(fields, path, line, f"qid {record['qid']}")


def _read_json_object(path: Path) -> dict:
    # the converters package imports every converter (~1 s); score pays it only for these formats
    from videofocus.data.converters.common import read_json_object

    return read_json_object(path)


def _read_nextgqa(path: Path, answers: Path | None):
    spans = _read_json_object(path)
    answers = answers if answers is not None else answers_path(path)
    chosen = _read_nextgqa_answers(answers) if answers.is_file() else {}
    for key, span in spans.items():
        fields = {"intervals": [span]} if span is not None else {}
        if key in chosen:
            fields["answer"] = chosen[key]
        yield key, {"field": key}, _parsed(fields, path, None, key)


def _read_nextgqa_answers(path: Path) -> dict[str, str]:
    letters = {}
    for key, value in _read_json_object(path).items():
        if isinstance(value, dict):
            value = value.get("prediction")
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(OPTION_LETTERS):
            value = OPTION_LETTERS[value]
        if not isinstance(value, str):
            raise DataError(f"expected an option letter or index, got {value!r}", path=str(path), field=key)
        letters[key] = value
    return letters


def _read_timechat(path: Path, _answers: Path | None):
    for key, entry in _read_json_object(path).items():
        if not isinstance(entry, dict) or "timestamp" not in entry:
            raise DataError('expected {"timestamp": [[start, end], ...]}', path=str(path), field=key)
        timestamps = entry["timestamp"]
        if isinstance(timestamps, list) and len(timestamps) == 2 and not isinstance(timestamps[0], list):
            timestamps = [timestamps]
        yield key, {"field": key}, _parsed({"intervals": timestamps or None}, path, None, f"{key}.timestamp")


def _parsed(fields: dict, path: Path, line: int | None, blamed: str) -> PredictionLike:
    """The Prediction these parsed fields state, checked as a prediction line's are; an error names
    the submission's own entry (`blamed`) and, after it, our field."""
    try:
        return prediction_from_record({"id": "-", **fields} if fields else {"id": "-", "answer": None})
    except DataError as error:
        detail = str(error).removeprefix("<memory>: ").removesuffix(f" (field '{error.field}')")
        raise DataError(detail, path=str(path), line=line, field=f"{blamed} → {error.field}") from None


_READERS = {"qvhighlights": _read_moment_jsonl, "rextime": _read_moment_jsonl, "nextgqa": _read_nextgqa,
            "timechat": _read_timechat}


# ----- writing -------------------------------------------------------------------------------------

def write_submission(submission_format: str, path: str | os.PathLike, samples: Iterable[Sample],
                     predictions: Mapping[str, PredictionLike]) -> list[Path]:
    """Write the predictions of `samples` (in their order) as `submission_format`, atomically; the
    paths written. A sample without a usable prediction gets an empty entry (qvhighlights/rextime:
    no windows; timechat: no timestamp) or none (nextgqa), so the scripts count it as they do."""
    samples = list(samples)
    usable = {sample.id: prediction for sample in samples
              if isinstance(prediction := predictions.get(sample.id), Prediction)}
    if submission_format in ("qvhighlights", "rextime"):
        lines = [json.dumps(_moment_line(sample, usable.get(sample.id), submission_format)) for sample in samples]
        return [_write(path, "".join(line + "\n" for line in lines))]
    if submission_format == "timechat":
        entries = {official_key(sample.id, "timechat"): {"timestamp": _windows(usable.get(sample.id))}
                   for sample in samples}
        return [_write(path, json.dumps(entries))]
    keyed = {official_key(sample.id, "nextgqa"): (sample, usable[sample.id]) for sample in samples if sample.id in usable}
    spans = {key: list(prediction.intervals[0]) for key, (_, prediction) in keyed.items() if prediction.intervals}
    chosen = {key: {"prediction": prediction.answer, "answer": sample.answer}
              for key, (sample, prediction) in keyed.items() if prediction.answer is not None}
    return [_write(path, json.dumps(spans)), _write(answers_path(path), json.dumps(chosen))]


def _moment_line(sample: Sample, prediction: Prediction | None, submission_format: str) -> dict:
    key = official_key(sample.id, submission_format)
    line: dict = {"qid": int(key) if key.isdigit() else key, "query": sample.question,
                  "vid": Path(sample.media.path).stem}
    windows = _windows(prediction)
    scores = (prediction.interval_scores if prediction is not None and prediction.interval_scores
              else [float(len(windows) - rank) for rank in range(len(windows))])  # rank order as confidence
    line["pred_relevant_windows"] = [[*window, score] for window, score in zip(windows, scores)]
    if prediction is not None and prediction.saliency is not None:
        line["pred_saliency_scores"] = list(prediction.saliency)
    if submission_format == "rextime":
        line["ans"] = prediction.answer if prediction is not None else None
    return line


def _windows(prediction: Prediction | None) -> list[list[float]]:
    return [list(window) for window in (prediction.intervals or [])] if prediction is not None else []


def _write(path: str | os.PathLike, text: str) -> Path:
    with atomic_writer(path) as handle:
        handle.write(text)
    return Path(path)


__all__ = ["SUBMISSION_FORMATS", "answers_path", "official_key", "read_submission",
           "write_submission"]
