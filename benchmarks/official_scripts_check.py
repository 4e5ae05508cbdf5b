"""videofocus's metrics against the official evaluation scripts themselves, on random submissions full
of the corners where implementations differ: negative starts, reversed windows at any rank (the
top-1 included), ends past the video, zero-length NExT-GQA spans, saliency lists shorter and longer
than the video's clips.

    python benchmarks/official_scripts_check.py --moment-detr DIR --rextime DIR --nextgqa DIR [--seed 7]

DIRs are checkouts of jayleicn/moment_detr, ReXTime/ReXTime and doc-doc/NExT-GQA; their evaluation
code is imported from there as it is (moment_detr and ReXTime import scikit-learn, which videofocus
does not need: install it to run this). The ground truth is theirs too: QVHighlights val
(data/highlight_val_release.jsonl), ReXTime val (data/rextime_val.jsonl, given 4 placeholder options
so that its answers can be scored) and NExT-GQA val (datasets/nextgqa/). Each random submission is
scored by the official function and by `videofocus` (converters, `read_submission`,
`score_predictions`); prints both and exits 1 when a metric differs by more than the official
output's rounding (0.01; NExT-GQA prints 1 decimal: 0.05). A minute or two on 2 cores.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import importlib
import io
import json
import random
import sys
import tempfile
import types
from pathlib import Path

import numpy as np

from videofocus.data.converters import ConvertOptions, get_converter, run_conversion
from videofocus.metrics import score_predictions
from videofocus.schema import read_samples
from videofocus.submissions import answers_path, read_submission


def corner_windows(rng: random.Random, duration: float, count: int) -> list[list[float]]:
    """`count` [start, end, score] windows, a third of them a corner case."""
    windows = []
    for _ in range(count):
        start = rng.uniform(-10, duration)
        end = start + rng.uniform(0.5, 60)
        kind = rng.random()
        if kind < 0.15:
            start, end = end, start
        elif kind < 0.3:
            start = -rng.uniform(0.1, 8)
        elif kind < 0.4:
            end = duration + rng.uniform(0.1, 20)
        windows.append([round(start, 2), round(end, 2), round(rng.random(), 4)])
    return windows


def converted(converter: str, source: Path, folder: Path, **options) -> list:
    output = folder / f"{converter}_{source.stem}.jsonl"
    run_conversion(get_converter(converter), ConvertOptions(input=source, **options), output)
    return list(read_samples(output))


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


def quietly(function, *args, **kwargs):
    """The official functions print progress; keep the report readable. Returns (result, printed)."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        result = function(*args, **kwargs)
    return result, printed.getvalue()


def check_moment_detr(checkout: Path, rng: random.Random, folder: Path) -> dict[str, tuple[float, float]]:
    sys.path.insert(0, str(checkout))
    official_eval = importlib.import_module("standalone_eval.eval")
    truth = [json.loads(line) for line in (checkout / "data/highlight_val_release.jsonl").open()]
    submission = [{"qid": record["qid"],
                   "pred_relevant_windows": corner_windows(rng, record["duration"], rng.randint(1, 12)),
                   "pred_saliency_scores": [round(rng.gauss(0, 1), 3)
                                            for _ in range(max(1, int(record["duration"] / 2) + rng.choice([-3, 0, 4])))]}
                  for record in truth]
    official, _ = quietly(official_eval.eval_submission, submission, truth, verbose=False)
    samples = converted("qvhighlights", checkout / "data/highlight_val_release.jsonl", folder)
    path = write_jsonl(folder / "qvh_submission.jsonl", submission)
    ours = score_predictions("qvhighlights", samples, read_submission("qvhighlights", path, samples, strict=True))
    return {name: (value, ours.metrics[name]) for name, value in official["brief"].items()}


def check_rextime(checkout: Path, rng: random.Random, folder: Path) -> dict[str, tuple[float, float]]:
    sys.path.insert(0, str(checkout / "evaluation"))
    official_eval = importlib.import_module("rextime_eval")
    truth = [json.loads(line) for line in (checkout / "data/rextime_val.jsonl").open()]
    submission = [{"qid": record["qid"], "pred_relevant_windows": corner_windows(rng, record["duration"], rng.randint(1, 3)),
                   "ans": rng.choice("ABCD")} for record in truth]
    official, _ = quietly(official_eval.eval_submission, submission, truth, verbose=False)
    full = official["full"]
    with_options = write_jsonl(folder / "rextime_val_options.jsonl",
                               [{**record, "question": record["query"], "options": ["a", "b", "c", "d"]}
                                for record in truth])
    samples = converted("rextime", with_options, folder)
    path = write_jsonl(folder / "rextime_submission.jsonl", submission)
    ours = score_predictions("rextime", samples, read_submission("rextime", path, samples, strict=True)).metrics
    as_is = converted("rextime", checkout / "data/rextime_val.jsonl", folder)  # no options: grounding only
    grounding = score_predictions("temporal_grounding", as_is, read_submission("rextime", path, as_is, strict=True))
    official_values = {"Acc": 100 * official["brief"]["VQA"], "mIoU": full["MR-mIoU"], "R@0.3": full["MR-R1"]["0.3"],
                       "R@0.5": full["MR-R1"]["0.5"], "Acc@IoU0.5": 100 * full["VQA,mIoU"]["VQA,mIoU@0.5"]}
    rows = {name: (value, ours[name]) for name, value in official_values.items()}
    rows.update({f"{name} (grounding only)": (official_values[name], grounding.metrics[name])
                 for name in ("mIoU", "R@0.3", "R@0.5")})
    return rows


def check_nextgqa(checkout: Path, rng: random.Random, folder: Path) -> dict[str, tuple[float, float]]:
    # eval_ground.py starts with `from util import *` (the training utilities); it needs only numpy.
    sys.modules.setdefault("util", types.SimpleNamespace(np=np, __all__=["np"]))
    sys.path.insert(0, str(checkout / "code/TempGQA"))
    official_eval = importlib.import_module("eval_ground")
    data = checkout / "datasets/nextgqa"
    grounding = json.loads((data / "gsub_val.json").read_text())
    spans, chosen, official_answers = {}, {}, {}
    for row in csv.DictReader((data / "val.csv").open()):
        key = f"{row['video_id']}_{row['qid']}"
        start, end = corner_windows(rng, grounding.get(row["video_id"], {}).get("duration", 60), 1)[0][:2]
        spans[key] = [start, start if rng.random() < 0.05 else end]  # some zero-length spans
        truth = [row[f"a{i}"] for i in range(5)].index(row["answer"])
        chosen[key] = rng.choice([truth, rng.randrange(5)])
        official_answers[key] = {"answer": truth, "prediction": chosen[key]}
    _, printed = quietly(official_eval.eval_ground, grounding, spans, official_answers)
    names = ("Acc@GQA", "mIoP", "IoP@0.3", "IoP@0.5", "mIoU", "IoU@0.3", "IoU@0.5")
    official = dict(zip(names, map(float, printed.splitlines()[-1].split())))
    samples = converted("nextgqa", data / "val.csv", folder)
    path = folder / "nextgqa_submission.json"
    path.write_text(json.dumps(spans))
    answers_path(path).write_text(json.dumps(chosen))
    ours = score_predictions("nextgqa", samples, read_submission("nextgqa", path, samples, strict=True)).metrics
    return {name: (value, ours[name]) for name, value in official.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--moment-detr", type=Path, required=True)
    parser.add_argument("--rextime", type=Path, required=True)
    parser.add_argument("--nextgqa", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    worst_excess = 0.0
    with tempfile.TemporaryDirectory() as folder:
        for name, check, checkout, tolerance in (("moment_detr", check_moment_detr, args.moment_detr, 0.01),
                                                 ("ReXTime", check_rextime, args.rextime, 0.01),
                                                 ("NExT-GQA", check_nextgqa, args.nextgqa, 0.05)):
            rows = check(checkout, rng, Path(folder))
            print(f"\n{name} (tolerance {tolerance})\n{'metric':<28}{'official':>10}{'videofocus':>12}")
            for metric, (official, ours) in rows.items():
                print(f"{metric:<28}{official:>10.3f}{ours:>12.4f}")
                worst_excess = max(worst_excess, abs(official - ours) - tolerance)
    print("\nall within the official rounding" if worst_excess <= 0 else "\nDIFFERENCES beyond the official rounding")
    return 0 if worst_excess <= 0 else 1


if __name__ == "__main__":
    sys.exit(main())
