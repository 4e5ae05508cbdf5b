"""Data, scripted backends and file comparisons for the evaluation tests."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from videofocus.backends import ScriptedBackend
from videofocus.data.synth import generate_dataset
from videofocus.models.inputs import Prompt
from videofocus.perception.result import without_run_dependent_costs
from videofocus.schema import Sample, read_samples
from videofocus.tasks import get_task

# Files of a run folder that hold only timings; everything else must be equal between two runs.
TIMING_FILES = frozenset({"timing.json"})


def synth_set(folder: Path, n: int, tasks: Sequence[str], seed: int = 0) -> tuple[Path, list[Sample]]:
    """A synthetic test set (video media 8 s long) and its samples."""
    path = generate_dataset(folder, n=n, seed=seed, tasks=list(tasks), split="test")
    return path, list(read_samples(path))


def interval_answer(start: float, end: float, answer: str = "") -> str:
    return f"<think>looking</think><clue>[({start}, {end})]</clue><answer>{answer}</answer>"


class RoundScript(ScriptedBackend):
    """Answers a prompt's n-th appearance with `script[prompt text][n-1]` (the last entry repeats):
    without carry_history a sample's prompt text is the same every round, so n is the round.
    `kill_after` raises KeyboardInterrupt on the call that would answer more than that many prompts,
    as if the process were killed mid-run. Its answers depend on the call count, not only on the
    input, so it is not deterministic: the loop must ask it again even when a round's frames repeat."""

    def __init__(self, script: Mapping[str, Sequence[str]], *, kill_after: int | None = None):
        super().__init__(self._answer, deterministic=False)
        self.script, self.kill_after = dict(script), kill_after
        self.asked: Counter[str] = Counter()

    def generate(self, prompts):
        if self.kill_after is not None and sum(self.asked.values()) + len(prompts) > self.kill_after:
            raise KeyboardInterrupt
        return super().generate(prompts)

    def _answer(self, prompt: Prompt) -> str:
        self.asked[prompt.text] += 1
        replies = self.script[prompt.text]
        return replies[min(self.asked[prompt.text], len(replies)) - 1]


def grounding_script(samples: Sequence[Sample], make_round_answers: Callable[[Sample], Sequence[str]]
                     ) -> dict[str, list[str]]:
    """Each sample's round answers keyed by its prompt text (samples must differ in prompt text)."""
    script = {get_task(sample.task).build_prompt(sample): list(make_round_answers(sample)) for sample in samples}
    assert len(script) == len(samples), "two samples share a prompt: the script cannot tell them apart"
    return script


def folder_files(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` by relative path, predictions.jsonl with its timing fields removed,
    timing files left out."""
    files = {}
    for path in sorted(folder.rglob("*")):
        name = path.relative_to(folder).as_posix()
        if path.is_file() and name not in TIMING_FILES:
            files[name] = without_timing_jsonl(path) if name == "predictions.jsonl" else path.read_bytes()
    return files


def without_timing_jsonl(path: Path) -> bytes:
    lines = [json.dumps(without_run_dependent_costs(json.loads(line)))
             for line in path.read_text(encoding="utf-8").splitlines()]
    return ("\n".join(lines) + "\n").encode()


def manifest_without(path: Path, *keys: str) -> dict:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {key: value for key, value in data.items() if key not in keys}


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
