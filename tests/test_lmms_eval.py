"""lmms-eval integration: `--model videofocus` and the videofocus tasks, run by lmms-eval itself on
synthetic samples with the shipped warm-up model, scored equal to `videofocus score`; and the plugin's
handling of requests from tasks that are not videofocus's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("lmms_eval")

from lmms_eval.api.instance import Instance  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from eval_helpers import read_jsonl, synth_set  # noqa: E402
from videofocus.backends import ScriptedBackend  # noqa: E402
from videofocus.cli import app  # noqa: E402
from videofocus.demo.warmup import shipped_warmup  # noqa: E402
from videofocus.errors import ConfigError, DataError  # noqa: E402
from videofocus.lmms_eval.__main__ import write_task  # noqa: E402
from videofocus.lmms_eval.model import VideoFocusLMM  # noqa: E402
from videofocus.lmms_eval.task_functions import SAMPLE_FIELD, doc_to_visual, process_docs  # noqa: E402
from videofocus.schema import sample_to_json  # noqa: E402

ROUNDS = 2
# lmms-eval task name → (videofocus template and benchmark, synthetic kinds)
TASKS = {"vf_tg": ("temporal_grounding", ["tg_single", "tg_ordinal"]),
         "vf_nextgqa": ("nextgqa", ["gqa_attribute"]),
         "vf_rextime": ("rextime", ["gqa_attribute", "brief_evidence"])}


@pytest.fixture(scope="module")
def lmms_run(tmp_path_factory):
    """One lmms-eval run (its command line, in a fresh process, as a user runs it) over the three
    videofocus tasks: (annotation files by task, lmms-eval's output folder, the rounds folder)."""
    root = tmp_path_factory.mktemp("lmms")
    annotations = {}
    for seed, (name, (template, kinds)) in enumerate(TASKS.items()):
        annotations[name], _ = synth_set(root / f"data_{name}", n=3, tasks=kinds, seed=seed)
        write_task(template, annotations[name], name, root / "tasks")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "HF_DATASETS_CACHE": str(root / "hf_datasets"), "TOKENIZERS_PARALLELISM": "false",
           # the machines are small and shared: as few threads as the tests' own torch (conftest)
           "OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2"}
    command = [sys.executable, "-m", "lmms_eval", "--model", "videofocus",
               "--model_args", f"pretrained={shipped_warmup()},rounds={ROUNDS},rounds_dir={root / 'rounds'}",
               "--tasks", ",".join(TASKS), "--include_path", str(root / "tasks"), "--batch_size", "2",
               "--output_path", str(root / "out"), "--log_samples"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=540)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return annotations, root / "out", root / "rounds"


def _lmms_results(out: Path) -> dict:
    (results_file,) = out.rglob("*_results.json")
    return json.loads(results_file.read_text(encoding="utf-8"))["results"]


def _videofocus_score(benchmark: str, predictions: Path, annotations: Path) -> dict[str, float]:
    result = CliRunner().invoke(app, ["score", "--benchmark", benchmark, "--predictions", str(predictions),
                                      "--annotations", str(annotations), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["metrics"]


@pytest.mark.slow
@pytest.mark.parametrize("task", list(TASKS))
def test_lmms_eval_metrics_equal_videofocus_score(lmms_run, task):
    """What lmms-eval reports for a videofocus task is what `videofocus score` says of the last round's
    predictions the plugin wrote beside it, metric by metric."""
    annotations, out, rounds = lmms_run
    benchmark = TASKS[task][0]
    reported = {key.split(",")[0]: value for key, value in _lmms_results(out)[task].items()
                if key.endswith(",none") and "_stderr" not in key}
    scored = _videofocus_score(benchmark, rounds / task / f"predictions_round{ROUNDS}.jsonl", annotations[task])
    assert reported == pytest.approx(scored, abs=1e-9)
    assert set(reported) == set(scored)


@pytest.mark.slow
def test_lmms_eval_replies_are_the_last_rounds_and_rounds_are_written(lmms_run):
    """Each lmms-eval sample's reply is the last round's raw output of the plugin's rounds file, which
    holds every round of every sample, in the task's order. (lmms-eval logs it as `resps`; what its
    --reasoning_tags filter leaves, without the think block, is what the task scores.)"""
    annotations, out, rounds = lmms_run
    for task in TASKS:
        lines = read_jsonl(rounds / task / "predictions.jsonl")
        assert [line["id"] for line in lines] == [line["id"] for line in read_jsonl(annotations[task])]
        assert all(len(line["rounds"]) == ROUNDS for line in lines)
        (log,) = out.rglob(f"*_samples_{task}.jsonl")
        replies = [entry["resps"] for entry in sorted(read_jsonl(log), key=lambda entry: entry["doc_id"])]
        assert replies == [line["rounds"][-1]["output"] for line in lines]
        for number in range(1, ROUNDS + 1):
            assert len(read_jsonl(rounds / task / f"predictions_round{number}.jsonl")) == len(lines)


def _request(context: str, doc: dict, visual, *, task: str = "foreign", doc_id: int = 0) -> tuple[Instance, dict]:
    instance = Instance(request_type="generate_until", idx=0,
                        arguments=(context, {}, lambda _doc: [visual], doc_id, task, "test"),
                        metadata={"task": task, "doc_id": doc_id, "repeats": 1})
    return instance, {task: {"test": {doc_id: doc}}}


def test_plugin_answers_another_tasks_question_with_its_option_letter(tiny_qwen25_vl_path, tmp_path):
    """A request from a task that is not videofocus's: lettered lines become the options, the loop runs
    `rounds` rounds, and the reply is the option letter the last round names."""
    path, samples = synth_set(tmp_path / "data", n=1, tasks=["tg_single"])
    video = str(samples[0].media.resolve(path.parent))
    model = VideoFocusLMM(pretrained=str(tiny_qwen25_vl_path), rounds=2, rounds_dir=str(tmp_path / "rounds"))
    asked = []
    model.backend = ScriptedBackend(lambda prompt: asked.append(prompt.text) or
                                    "<think>x</think><clue>[(1.0, 3.0)]</clue><answer>B. the cup</answer>",
                                    deterministic=False)
    instance, model.task_dict = _request("Which object moves?\nA. the ball\nB. the cup\nC. the box", {}, video)
    assert model.generate_until([instance]) == ["B"]
    assert len(asked) == 2 and "the cup" in asked[0]
    (line,) = read_jsonl(tmp_path / "rounds" / "foreign" / "predictions.jsonl")
    assert line["id"] == "foreign/0" and line["rounds"][1]["view"]["focus"] == [[1.0, 3.0]]


def test_plugin_reports_an_unreadable_video_as_that_requests_failure(tiny_qwen25_vl_path, tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    model = VideoFocusLMM(pretrained=str(tiny_qwen25_vl_path), rounds=1, rounds_dir=str(tmp_path / "rounds"))
    instance, model.task_dict = _request("What happens?", {}, str(broken))
    assert model.generate_until([instance]) == [""]
    (line,) = read_jsonl(tmp_path / "rounds" / "foreign" / "predictions.jsonl")
    assert line["id"] == "foreign/0" and line["error"].startswith("MediaError")


def test_plugin_refuses_unknown_model_args_and_several_visuals(tiny_qwen25_vl_path):
    with pytest.raises(ConfigError, match="unknown model_args roundz"):
        VideoFocusLMM(pretrained=str(tiny_qwen25_vl_path), roundz=3)
    model = VideoFocusLMM(pretrained=str(tiny_qwen25_vl_path), rounds=1)
    instance, model.task_dict = _request("?", {}, "a.mp4", task="multi")
    instance.arguments = (instance.arguments[0], {}, lambda _doc: ["a.mp4", "b.mp4"], 0, "multi", "test")
    with pytest.raises(ConfigError, match="task 'multi', doc 0: doc_to_visual gave 2 visuals"):
        model.generate_until([instance])


def test_process_docs_names_the_bad_line_and_field():
    datasets = pytest.importorskip("datasets")
    good = {"id": "a", "task": "temporal_grounding", "media": {"type": "video", "path": "a.mp4"},
            "question": "the cup", "clue": {"intervals": [[1.0, 2.0]]}}
    rows = [json.dumps(good), "", json.dumps({**good, "id": "b", "clue": {"intervals": [[3.0, 2.0]]}})]
    with pytest.raises(DataError, match=r":3: .*clue.intervals") as error:
        process_docs(datasets.Dataset.from_dict({"text": rows}))
    assert "data_files" in str(error.value)
    with pytest.raises(DataError, match=r":2: duplicate id .a. \(first at line 1\)"):
        process_docs(datasets.Dataset.from_dict({"text": [json.dumps(good), json.dumps(good)]}))
    (doc,) = process_docs(datasets.Dataset.from_dict({"text": [json.dumps(good), "  "]}))
    assert doc["id"] == "a" and json.loads(doc[SAMPLE_FIELD])["clue"] == {"intervals": [[1.0, 2.0]]}


def test_doc_to_visual_needs_a_media_root_for_relative_paths(tmp_path):
    from videofocus.schema import Sample

    sample = Sample(id="a", task="temporal_grounding", media={"type": "video", "path": "v/a.mp4"}, question="q")
    doc = {"id": "a", SAMPLE_FIELD: sample_to_json(sample)}
    with pytest.raises(ConfigError, match="set media_root"):
        doc_to_visual(doc)
    assert doc_to_visual(doc, {"media_root": str(tmp_path)}) == [str(tmp_path / "v" / "a.mp4")]
    outside = {"id": "b", SAMPLE_FIELD: sample_to_json(sample.model_copy(
        update={"media": sample.media.model_copy(update={"path": "../a.mp4"})}))}
    with pytest.raises(DataError, match="leads outside the media root"):
        doc_to_visual(outside, {"media_root": str(tmp_path)})
