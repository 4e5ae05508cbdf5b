"""`--model videofocus`: iterative perception as an lmms-eval model.

    python -m lmms_eval --model videofocus --model_args pretrained=Qwen/Qwen2.5-VL-7B-Instruct,rounds=3 \
        --tasks videomme --batch_size 4

Each `generate_until` request becomes one sample of the perception loop (`videofocus.perception`):
round 1 sees the whole video, each later round the video re-sampled around the previous round's clue,
and the reply is the last round's. Requests of the videofocus tasks (`videofocus.lmms_eval.tasks`) carry
their sample (task, options, duration): the loop asks its own prompt for it and the reply is the last
round's raw output, which the task scores as `videofocus score` scores `{"id", "output"}` lines. Any
other task's request is read as one question about its one video or image: answer options written as
lettered lines ("A. ...") become the sample's options, and the reply is the last round's answer (the
option letter where it names one).

With `rounds_dir=DIR`, every round (view, output, clue, answer, cost) is written beside lmms-eval's
output: DIR/<task>/predictions.jsonl holds the perception results as `videofocus eval` writes them,
and DIR/<task>/predictions_round{k}.jsonl the parsed prediction after round k, which `videofocus score`
reads.

The task's generation_kwargs (max_new_tokens, until, temperature) are not applied: the loop's prompts
ask for think, clue and answer, and the decoding is the model's (`max_new_tokens=`, greedy). One process
(vLLM parallelises by itself); loglikelihood and multi-round requests are not supported.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from lmms_eval.api.model import lmms
from tqdm import tqdm

from videofocus.errors import ConfigError, MediaError
from videofocus.evaluate import GenerationSettings, build_backend, evaluate_batch
from videofocus.evaluate.report import write_round_predictions
from videofocus.lmms_eval.task_functions import SAMPLE_FIELD, doc_sample
from videofocus.perception import PerceptionOptions, PerceptionResult
from videofocus.perception.questions import question_sample, split_options
from videofocus.schema import Sample
from videofocus.storage import reporting_full_disk

_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif"}


@dataclass(frozen=True)
class _Asked:
    """One request as the loop sees it: its lmms-eval task, the sample (None when its media cannot be read:
    `error` says why), and whether the sample is a videofocus task's own (the reply is then the raw output)."""

    task: str
    id: str
    sample: Sample | None
    own_sample: bool = False
    error: str | None = None


class VideoFocusLMM(lmms):
    """The perception loop behind lmms-eval's model interface (module docstring).

    pretrained: a model folder or Hub id (`from_pretrained`). backend: "hf" (transformers) or "vllm"
    (GPU). rounds / protocol / key_ratio / focus_sampling / early_stop / carry_history: the loop's
    `PerceptionOptions`. num_frames / fps: the frame budget (default: the model's videofocus.json, else
    2 fps within 4-768 frames). dtype / max_new_tokens / device / batch_size: loading and decoding
    (batch_size samples per loop call). rounds_dir: where every round is written (None: not written).
    """

    is_simple = True

    def __init__(self, pretrained: str, rounds: int = 3, protocol: str = "videofocus", backend: str = "hf",
                 key_ratio: float = 0.5, focus_sampling: str | None = None, early_stop: bool = False,
                 carry_history: bool = False, num_frames: int | None = None, fps: float | None = None,
                 dtype: str | None = None, max_new_tokens: int = 1024, device: str | None = None,
                 batch_size: int | str = 1, max_batch_size: int | None = None, rounds_dir: str | None = None,
                 **unknown: Any) -> None:
        super().__init__()
        if unknown:
            raise ConfigError(f"--model videofocus: unknown model_args {', '.join(sorted(unknown))}; see "
                              "docs/lmms-eval.md for the ones it takes")
        if int(os.environ.get("WORLD_SIZE", "1")) > 1:
            raise ConfigError("--model videofocus runs as one process (vLLM spreads over GPUs by itself); "
                              "launch lmms-eval without accelerate's several processes")
        try:
            self.batch_size = int(batch_size)
        except ValueError:
            raise ConfigError(f"--model videofocus: batch_size must be a number, got {batch_size!r}") from None
        from videofocus.cli.model_defaults import LIBRARY_PIXELS, model_input_defaults

        pixels, num_frames = model_input_defaults(str(pretrained), num_frames=num_frames, fps=fps,
                                                  **dict.fromkeys(LIBRARY_PIXELS))
        self.options = PerceptionOptions(
            rounds=int(rounds), num_frames=num_frames, fps=fps if fps is not None else 2.0, key_ratio=key_ratio,
            carry_history=carry_history, early_stop=early_stop, protocol=protocol, focus_sampling=focus_sampling)
        generation = GenerationSettings(backend=backend, dtype=dtype, max_new_tokens=int(max_new_tokens), **pixels)
        self.backend = build_backend(str(pretrained), generation, batch_size=self.batch_size, device=device)
        self.rounds_dir = Path(rounds_dir) if rounds_dir is not None else None
        self._lines: dict[str, list[dict[str, Any]]] = {}
        self._scratch = TemporaryDirectory(prefix="videofocus-lmms-eval-")  # images lmms-eval hands over in memory

    def generate_until(self, requests) -> list[str]:
        """The last round's reply for each request, in order (module docstring)."""
        asked = [self._ask(request) for request in requests]
        replies: list[str] = []
        with tqdm(total=len(asked), desc="videofocus", disable=self.rank != 0) as bar:
            for start in range(0, len(asked), self.batch_size):
                batch = asked[start:start + self.batch_size]
                runnable = [entry.sample for entry in batch if entry.sample is not None]
                results = iter(evaluate_batch(runnable, self.backend, self.options, None) if runnable else ())
                for entry in batch:
                    line = next(results) if entry.sample is not None else \
                        {"id": entry.id, "error": entry.error}
                    self._lines.setdefault(entry.task, []).append(line)
                    replies.append(_reply(line, entry.own_sample))
                bar.update(len(batch))
        self._write_rounds()
        return replies

    def loglikelihood(self, requests):
        raise NotImplementedError("--model videofocus generates answers; it does not score loglikelihoods "
                                  "(multiple-choice tasks of output_type loglikelihood)")

    def generate_until_multi_round(self, requests):
        raise NotImplementedError("--model videofocus runs its own rounds; generate_until_multi_round tasks are "
                                  "not supported (for the videofocus tasks use their generate_until form)")

    def _ask(self, request) -> _Asked:
        """What the loop is asked for one lmms-eval request (module docstring)."""
        context, _generation_kwargs, doc_to_visual, doc_id, task, split = request.args
        doc = self.task_dict[task][split][doc_id]
        visuals = doc_to_visual(doc)
        if SAMPLE_FIELD in doc:
            sample = doc_sample(doc)
            sample = sample.model_copy(update={"media": sample.media.model_copy(update={"path": visuals[0]})})
            return _Asked(task, sample.id, sample, own_sample=True)
        if not isinstance(visuals, Sequence) or len(visuals) != 1:
            count = len(visuals) if isinstance(visuals, Sequence) else type(visuals).__name__
            raise ConfigError(f"task {task!r}, doc {doc_id}: doc_to_visual gave {count} visuals; --model videofocus "
                              "answers about one video or one image per request")
        path, media_type = self._media_path(visuals[0], task, doc_id)
        text, options = split_options(context)
        sample_id = f"{task}/{doc_id}"
        try:
            sample = question_sample(path, media_type, text, options=options, sample_id=sample_id)
        except MediaError as error:  # an unreadable file costs its own request only
            return _Asked(task, sample_id, None, error=f"MediaError: {error}")
        return _Asked(task, sample_id, sample)

    def _media_path(self, visual: Any, task: str, doc_id: int) -> tuple[str, str]:
        """A visual as (file path, "video" or "image"): lmms-eval gives videos as paths, images as paths or
        PIL images (saved to a scratch file here)."""
        if isinstance(visual, (str, os.PathLike)):
            path = Path(visual)
            return str(path), "image" if path.suffix.lower() in _IMAGE_SUFFIXES else "video"
        if hasattr(visual, "save") and hasattr(visual, "size"):
            path = Path(self._scratch.name) / f"{task}-{doc_id}.png"
            visual.save(path)
            return str(path), "image"
        raise ConfigError(f"task {task!r}, doc {doc_id}: doc_to_visual gave a {type(visual).__name__}; "
                          "--model videofocus takes a video or image path, or a PIL image")

    def _write_rounds(self) -> None:
        if self.rounds_dir is None:
            return
        for task, lines in self._lines.items():
            folder = self.rounds_dir / task
            with reporting_full_disk(folder):
                folder.mkdir(parents=True, exist_ok=True)
                (folder / "predictions.jsonl").write_text(
                    "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
                write_round_predictions(folder, lines, range(1, self.options.rounds + 1))


def _reply(line: Mapping[str, Any], own_sample: bool) -> str:
    """What lmms-eval gets for one perception result line: the last round's raw output for a videofocus
    task's sample, the last round's answer (its option letter where it names one) otherwise; "" for a
    sample that failed (its error is in the rounds file)."""
    if line.get("error") is not None:
        return ""
    final = PerceptionResult.from_dict(dict(line)).final
    if own_sample:
        return final.output
    if final.option is not None:
        return final.option
    return final.answer if final.answer is not None else final.output
