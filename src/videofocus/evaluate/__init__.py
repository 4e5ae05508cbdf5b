"""Benchmark evaluation with iterative perception: one call (`evaluate`, or `videofocus eval`) whose
output folder says exactly how it was run.

    from videofocus.evaluate import EvalSettings, evaluate
    evaluate("test/samples.jsonl", "runs/eval", EvalSettings("temporal_grounding", rounds=(1, 2, 3)),
             model="Qwen/Qwen2.5-VL-7B-Instruct")

The output folder:

- run.json: model identity (name, Hub revision, hashes of config.json and of the file names+sizes),
  the settings (perception, rounds, seed, limit, batch size, track units), how outputs were generated,
  round 1's prompt for one sample of each task, package versions, git commit, the command line.
- samples.jsonl: the evaluated samples (after --limit), the annotations the round files score against.
- predictions.jsonl: one line per sample in annotation order, the perception result dict (every
  round's view, raw output, parse and cost), or `{"id", "task", "error"}` for a failed sample.
- predictions_round{k}.jsonl for each reported round k: the parsed form `videofocus score` reads
  (round k's parse; a loop that stopped early at round j < k carries round j's over).
- metrics.json: per round what `videofocus score --json` prints for that round's file, and the
  failed samples. results.md: the same as a table, with the score command. metrics_vs_rounds.png.
- timing.json: the mean cost per sample up to each round and this invocation's throughput.
- .videofocus-eval.lock: locked while an evaluation writes the folder, so a second one is refused.

Reruns: the same arguments resume; the final files equal an uninterrupted run's except the timing
fields, which no two runs share: timing.json, and in predictions.jsonl the `seconds` of each line
and each round's `cost.seconds`, `cost.decode_seconds`, `cost.model_seconds`, plus
`cost.cached_visual_tokens` (vision-feature cache hits depend on which samples one process ran
before). run.json is the first invocation's. Equality across resumes and process counts assumes the
backend answers a prompt the same whatever else shares its batch: exact for scripted backends and for
the transformers backend at batch size 1; with larger batches, padding can in rare cases flip a
greedy token.

Data parallel: `accelerate launch --multi_gpu --num_processes N $(which videofocus) eval ...` (on a
machine without GPUs too; the processes then talk over gloo). Each process evaluates the samples whose
index modulo N is its rank into shards/rank{r}.jsonl; the main process merges them in annotation order.
"""

from typing import TYPE_CHECKING

from videofocus.evaluate.settings import EvalSettings, GenerationSettings, parse_rounds
from videofocus.lazy import lazy_attributes

if TYPE_CHECKING:
    from videofocus.evaluate.report import Failure
    from videofocus.evaluate.runner import EvalResult, build_backend, evaluate, evaluate_batch

# The runner and the report import torch, transformers and matplotlib: only when used.
__getattr__ = lazy_attributes(__name__, {
    "Failure": "videofocus.evaluate.report", "EvalResult": "videofocus.evaluate.runner",
    "build_backend": "videofocus.evaluate.runner", "evaluate": "videofocus.evaluate.runner",
    "evaluate_batch": "videofocus.evaluate.runner"})

__all__ = ["EvalResult", "EvalSettings", "Failure", "GenerationSettings", "build_backend", "evaluate",
           "evaluate_batch", "parse_rounds"]
