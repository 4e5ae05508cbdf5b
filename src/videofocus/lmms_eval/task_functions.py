"""The functions the videofocus lmms-eval tasks (`tasks/*.yaml`) name with `!function`.

The annotation file is read by lmms-eval's own loader, as text (`dataset_path: text`): `process_docs`
validates each line as a sample of the one sample format (errors name the line and field) and keeps it
as its canonical JSON, so no sample is reshaped by Arrow's column types. A doc is
`{"id": ..., SAMPLE_FIELD: "<sample JSON>"}`.

Scoring is `videofocus score`'s: `process_results` hands every metric the sample and the model's raw
reply, and each metric's aggregation scores all of them with `videofocus.metrics.score_predictions`,
reading each reply with `parsing.parse_completion` as a prediction line `{"id", "output"}` is read. The
values are the benchmark's percentages; lmms-eval reports no standard error for them (`videofocus score`
gives the jackknife one).

Options a task file sets under `lmms_eval_specific_kwargs: {default: {...}}`: `media_root` (the folder
relative media paths start from), `allow_media_outside_root` (let `..` in a path leave it), `protocol`
(the prompt family: videofocus, videochat_r1, videochat_r1_5).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from videofocus.errors import ConfigError, DataError
from videofocus.jsonfiles import decode_jsonl_line
from videofocus.metrics import get_benchmark, score_predictions
from videofocus.parsing import parse_completion
from videofocus.schema import Sample, parse_sample, sample_to_json
from videofocus.tasks import get_task

SAMPLE_FIELD = "videofocus_sample"
# Errors name the file as the task file names it: process_docs sees the rows, not the file.
_ANNOTATIONS = "the task's annotation file (dataset_kwargs.data_files)"


def process_docs(dataset):
    """The annotation file's lines (lmms-eval's text loader: one row per line, blank ones included) as
    validated samples; DataError naming the line and field of the first bad one, or a repeated id."""
    import datasets

    rows, seen = [], {}
    for number, row in enumerate(dataset, start=1):
        if not row["text"].strip():
            continue
        sample = parse_sample(decode_jsonl_line(row["text"], path=_ANNOTATIONS, line=number),
                              path=_ANNOTATIONS, line=number)
        if sample.id in seen:
            raise DataError(f"duplicate id {sample.id!r} (first at line {seen[sample.id]})", path=_ANNOTATIONS,
                            line=number, field="id")
        seen[sample.id] = number
        rows.append({"id": sample.id, SAMPLE_FIELD: sample_to_json(sample)})
    if not rows:
        raise DataError("no samples (every line is blank)", path=_ANNOTATIONS)
    return datasets.Dataset.from_list(rows)


def doc_sample(doc: Mapping[str, Any]) -> Sample:
    """The sample a doc holds."""
    return Sample.model_validate(json.loads(doc[SAMPLE_FIELD]))


def doc_to_visual(doc: Mapping[str, Any], lmms_eval_specific_kwargs: Mapping[str, Any] | None = None) -> list[str]:
    """The sample's video or image file, resolved against the task's `media_root`."""
    options = lmms_eval_specific_kwargs or {}
    sample = doc_sample(doc)
    media_root = options.get("media_root")
    if media_root is None and not Path(sample.media.path).is_absolute():
        raise ConfigError(f"sample {sample.id!r}: its media path {sample.media.path!r} is relative; set media_root "
                          "under lmms_eval_specific_kwargs: default: in the task file")
    try:
        path = sample.media.resolve(media_root, allow_outside=bool(options.get("allow_media_outside_root", False)))
    except DataError as error:
        raise DataError(f"sample {sample.id!r}: {error.reason} (allow it with allow_media_outside_root: true under "
                        "lmms_eval_specific_kwargs)", path=_ANNOTATIONS, field=error.field) from None
    return [str(path)]


def doc_to_text(doc: Mapping[str, Any], lmms_eval_specific_kwargs: Mapping[str, Any] | None = None) -> str:
    """The sample's prompt under the task's protocol, what `videofocus eval` asks in round 1 (the videofocus
    model builds its own prompt each round from the sample itself)."""
    protocol = (lmms_eval_specific_kwargs or {}).get("protocol", "videofocus")
    sample = doc_sample(doc)
    return get_task(sample.task).build_prompt(sample, protocol=protocol)


def doc_to_target(doc: Mapping[str, Any]) -> str:
    """The annotation scored against, as text for lmms-eval's sample log: the answer and the intervals."""
    sample = doc_sample(doc)
    parts = [f"answer {sample.answer}"] if sample.answer is not None else []
    if sample.clue is not None and sample.clue.intervals:
        parts.append("intervals " + ", ".join(f"[{start:g}, {end:g}]" for start, end in sample.clue.intervals))
    return "; ".join(parts)


def _process_results(benchmark: str) -> Callable[[Mapping[str, Any], Sequence[str]], dict[str, dict[str, str]]]:
    """Every metric of `benchmark` gets the doc's sample and the model's reply; the aggregation scores them."""
    names = get_benchmark(benchmark).metric_names

    def process_results(doc: Mapping[str, Any], results: Sequence[str]) -> dict[str, dict[str, str]]:
        scored = {"sample": doc[SAMPLE_FIELD], "output": results[0]}
        return {name: scored for name in names}

    process_results.__name__ = f"process_{benchmark}_results"
    return process_results


def score_items(benchmark: str, items: Sequence[Mapping[str, str]]):
    """`videofocus score` over process_results' items: the samples, each reply read as a raw output line."""
    samples = [Sample.model_validate(json.loads(item["sample"])) for item in items]
    predictions = {sample.id: parse_completion(item["output"]) for sample, item in zip(samples, items)}
    return score_predictions(benchmark, samples, predictions)


def _aggregation(benchmark: str, metric: str) -> Callable[[Sequence[Mapping[str, str]]], float]:
    def aggregate(items: Sequence[Mapping[str, str]]) -> float:
        return score_items(benchmark, items).metrics[metric]

    aggregate.__name__ = f"{benchmark}_{metric}"
    return aggregate


process_temporal_grounding = _process_results("temporal_grounding")
temporal_grounding_miou = _aggregation("temporal_grounding", "mIoU")
temporal_grounding_r03 = _aggregation("temporal_grounding", "R@0.3")
temporal_grounding_r05 = _aggregation("temporal_grounding", "R@0.5")
temporal_grounding_r07 = _aggregation("temporal_grounding", "R@0.7")

process_nextgqa = _process_results("nextgqa")
nextgqa_acc_qa = _aggregation("nextgqa", "Acc@QA")
nextgqa_acc_gqa = _aggregation("nextgqa", "Acc@GQA")
nextgqa_miop = _aggregation("nextgqa", "mIoP")
nextgqa_iop03 = _aggregation("nextgqa", "IoP@0.3")
nextgqa_iop05 = _aggregation("nextgqa", "IoP@0.5")
nextgqa_miou = _aggregation("nextgqa", "mIoU")
nextgqa_iou03 = _aggregation("nextgqa", "IoU@0.3")
nextgqa_iou05 = _aggregation("nextgqa", "IoU@0.5")

process_rextime = _process_results("rextime")
rextime_acc = _aggregation("rextime", "Acc")
rextime_miou = _aggregation("rextime", "mIoU")
rextime_r03 = _aggregation("rextime", "R@0.3")
rextime_r05 = _aggregation("rextime", "R@0.5")
rextime_acc_iou05 = _aggregation("rextime", "Acc@IoU0.5")
