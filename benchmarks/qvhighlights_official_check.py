"""videofocus's QVHighlights metrics against the official evaluation's own output.

    python benchmarks/qvhighlights_official_check.py MOMENT_DETR_CHECKOUT

jayleicn/moment_detr ships the validation ground truth (data/highlight_val_release.jsonl), a sample
submission (standalone_eval/sample_val_preds.jsonl) and the metrics its standalone_eval/eval.py
printed for it (standalone_eval/sample_val_preds_metrics_raw.json, rounded to 2 decimals). This
converts the ground truth with the qvhighlights converter, reads the submission as it is
(`--format qvhighlights`), scores it, and prints each brief metric beside the official one. Exit
status 1 when any differs by more than 0.01 (the official numbers' rounding). A minute on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from videofocus.data.converters import ConvertOptions, get_converter, run_conversion
from videofocus.metrics import score_predictions
from videofocus.schema import read_samples
from videofocus.submissions import read_submission

TOLERANCE = 0.01


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkout", type=Path, help="a jayleicn/moment_detr checkout")
    args = parser.parse_args()
    official = json.loads((args.checkout / "standalone_eval/sample_val_preds_metrics_raw.json").read_text())["brief"]
    with tempfile.TemporaryDirectory() as folder:
        annotations = Path(folder) / "qvhighlights_val.jsonl"
        run_conversion(get_converter("qvhighlights"),
                       ConvertOptions(input=args.checkout / "data/highlight_val_release.jsonl"), annotations)
        samples = list(read_samples(annotations))
    predictions = read_submission("qvhighlights", args.checkout / "standalone_eval/sample_val_preds.jsonl", samples,
                                  strict=True)
    ours = score_predictions("qvhighlights", samples, predictions).metrics
    worst = 0.0
    print(f"{'metric':<24}{'official':>10}{'videofocus':>12}")
    for name, value in official.items():
        worst = max(worst, abs(ours[name] - value))
        print(f"{name:<24}{value:>10.2f}{ours[name]:>12.4f}")
    print(f"{len(samples)} queries; largest difference {worst:.4f} (tolerance {TOLERANCE})")
    return 0 if worst <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main())
