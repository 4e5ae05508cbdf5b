"""Resuming `evaluate`: a killed run (and a half-written line) continues to the files an
uninterrupted run writes; different settings into the same folder are refused."""

from __future__ import annotations

import errno
import hashlib
import json
import os
from dataclasses import replace
from pathlib import Path

import huggingface_hub
import pytest
from eval_helpers import RoundScript, folder_files, grounding_script, interval_answer, synth_set

from videofocus.backends import ScriptedBackend
from videofocus.errors import ConfigError, DataError, DiskFullError
from videofocus.evaluate import EvalSettings, GenerationSettings, evaluate, runner
from videofocus.evaluate.store import PredictionStore
from videofocus.perception import PerceptionOptions

SETTINGS = EvalSettings("temporal_grounding", rounds=(1, 3), batch_size=1)


def answers(sample):
    start, end = sample.clue.intervals[0]
    return [interval_answer(start, end - 0.5), interval_answer(start, end), interval_answer(start + 0.5, end)]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    annotations, samples = synth_set(tmp_path_factory.mktemp("data"), 5, ["temporal_grounding"])
    return annotations, samples, grounding_script(samples, answers)


@pytest.fixture(scope="module")
def uninterrupted(data, tmp_path_factory):
    annotations, _, script = data
    out = tmp_path_factory.mktemp("whole") / "out"
    evaluate(annotations, out, SETTINGS, backend=RoundScript(script), progress=False)
    return out


def test_a_killed_run_resumes_to_the_uninterrupted_files(data, uninterrupted, tmp_path):
    annotations, samples, script = data
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):  # killed while asking round 2 of the third sample
        evaluate(annotations, out, SETTINGS, backend=RoundScript(script, kill_after=7), progress=False)
    shard = PredictionStore(out).shard(0)
    assert [json.loads(line)["id"] for line in shard.read_text().splitlines()] == [s.id for s in samples[:2]]
    # ... and killed again while writing the third line, in the middle of a multi-byte character.
    half_line = '{"id": "' + samples[2].id + '", "task": "temporal_grounding", "rounds": [{"output": "é'
    with shard.open("ab") as handle:
        handle.write(half_line.encode()[:-1])
    (out / ".metrics.json.k1ll3d.tmp").write_text("{")   # and a temporary file a kill left behind

    result = evaluate(annotations, out, SETTINGS, backend=RoundScript(script), progress=False)

    assert result.evaluated_now == 3
    assert folder_files(out) == folder_files(uninterrupted)
    assert not (out / "shards").exists()


def test_rerunning_a_finished_run_asks_nothing_and_changes_nothing(data, uninterrupted):
    annotations, _, script = data
    before = folder_files(uninterrupted)
    result = evaluate(annotations, uninterrupted, SETTINGS, backend=RoundScript(script, kill_after=0), progress=False)
    assert result.evaluated_now == 0
    assert folder_files(uninterrupted) == before


@pytest.mark.parametrize(("change", "named"), [
    (dict(perception=PerceptionOptions(num_frames=8)), "settings.perception.num_frames: null there, 8 now"),
    (dict(rounds=(1, 2, 3)), "settings.rounds"),
    (dict(limit=2), "annotations.samples: 5 there, 2 now"),
])
def test_other_settings_into_the_same_folder_are_refused(data, uninterrupted, change, named):
    annotations, _, script = data
    before = folder_files(uninterrupted)
    with pytest.raises(ConfigError, match="holds an evaluation run with different settings") as error:
        evaluate(annotations, uninterrupted, replace(SETTINGS, **change), backend=RoundScript(script),
                 progress=False)
    assert named in str(error.value)
    assert folder_files(uninterrupted) == before


def test_changed_annotations_are_refused(data, uninterrupted, tmp_path):
    annotations, _, script = data
    edited = tmp_path / "samples.jsonl"
    edited.write_text(annotations.read_text().replace("is visible", "can be seen"))
    with pytest.raises(ConfigError, match="annotations.sha256"):
        evaluate(edited, uninterrupted, SETTINGS, backend=RoundScript(script), media_root=annotations.parent,
                 progress=False)


def test_predictions_without_run_json_are_refused(data, tmp_path):
    annotations, _, script = data
    (tmp_path / "predictions.jsonl").write_text('{"id": "x", "task": "mcq", "error": "old"}\n')
    with pytest.raises(ConfigError, match="holds predictions but no run.json"):
        evaluate(annotations, tmp_path, SETTINGS, backend=RoundScript(script), progress=False)


def test_a_corrupt_complete_line_is_an_error_naming_file_and_line(tmp_path):
    store = PredictionStore(tmp_path)
    store.append(0, {"id": "a", "error": "x"})
    with store.shard(0).open("a") as handle:
        handle.write("{not json}\n")
    with pytest.raises(DataError, match=r"rank0\.jsonl:2: not valid JSON"):
        store.lines()


def test_merge_orders_lines_by_annotation_and_keeps_the_first_of_duplicates(tmp_path):
    store = PredictionStore(tmp_path)
    store.append(1, {"id": "b", "error": "from rank 1"})
    store.append(0, {"id": "a", "error": "from rank 0"})
    store.append(0, {"id": "b", "error": "again"})
    lines = store.merge(["a", "b"])
    assert [json.loads(line)["error"] for line in lines] == ["from rank 0", "again"]
    assert store.merged.read_text() == "".join(lines) and not store.shard_dir.exists()
    with pytest.raises(DataError, match="1 sample"):
        store.merge(["a", "b", "c"])


HUB_ID = "videofocus-tests/tiny-qwen2_5_vl"
HUB_REVISION = "4413" + "0" * 36


def lay_out_hub_snapshot(cache: Path, repo_id: str, revision: str, files_from: Path) -> Path:
    """What huggingface_hub leaves after a download: blobs named by content hash, the snapshot's
    files as relative symlinks to them, and refs/main naming the snapshot's commit."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / revision
    for source in sorted(path for path in files_from.rglob("*") if path.is_file()):
        data = source.read_bytes()
        blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(data)
        link = snapshot / source.relative_to(files_from)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)
    return snapshot


def test_a_hub_model_first_fetched_by_the_run_is_identified_and_the_rerun_resumes(
        data, tiny_qwen25_vl_path, tmp_path, monkeypatch):
    annotations, _, _ = data
    cache = tmp_path / "hub"
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    real_build_backend = runner.build_backend

    def fetch_then_build(model, *args, **kwargs):  # loading downloads the model into the cache
        if not cache.exists():
            lay_out_hub_snapshot(cache, HUB_ID, HUB_REVISION, tiny_qwen25_vl_path)
        return real_build_backend(model, *args, **kwargs)

    monkeypatch.setattr(runner, "build_backend", fetch_then_build)
    settings = EvalSettings("temporal_grounding", rounds=(1,), limit=2, batch_size=1,
                            perception=PerceptionOptions(num_frames=4),
                            generation=GenerationSettings(max_new_tokens=4))
    out = tmp_path / "out"
    first = evaluate(annotations, out, settings, model=HUB_ID, device="cpu", progress=False)
    identity = json.loads((out / "run.json").read_text())["model"]
    assert identity["name"] == HUB_ID and identity["revision"] == HUB_REVISION
    config = (tiny_qwen25_vl_path / "config.json").read_bytes()
    assert identity["config_sha256"] == hashlib.sha256(config).hexdigest() and len(identity["files_sha256"]) == 64

    again = evaluate(annotations, out, settings, model=HUB_ID, device="cpu", progress=False)
    assert (first.evaluated_now, again.evaluated_now) == (2, 0)


def _sampled_answer(prompt):
    """A completion drawn from torch's random stream, as a sampling model's is."""
    import torch

    start = int(torch.randint(0, 4, ()))
    return interval_answer(start, start + int(torch.randint(1, 5, ())))


def test_a_sampling_run_killed_inside_a_batch_resumes_to_the_uninterrupted_files(data, tmp_path, monkeypatch):
    annotations, samples, _ = data
    settings = replace(SETTINGS, batch_size=3)
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    sampling = ScriptedBackend(_sampled_answer, deterministic=False)
    evaluate(annotations, whole, settings, backend=sampling, progress=False)

    appended = PredictionStore.append

    def killed_after_one_line(store, rank, record):
        if store.shard(rank).exists():
            raise KeyboardInterrupt
        appended(store, rank, record)

    monkeypatch.setattr(PredictionStore, "append", killed_after_one_line)
    with pytest.raises(KeyboardInterrupt):   # the first batch of 3 written as far as its first line
        evaluate(annotations, killed, settings, backend=sampling, progress=False)
    monkeypatch.setattr(PredictionStore, "append", appended)
    evaluate(annotations, killed, settings, backend=sampling, progress=False)

    assert folder_files(killed) == folder_files(whole)


def test_a_full_disk_is_a_clear_error_and_the_run_resumes_after_it(data, uninterrupted, tmp_path, monkeypatch):
    annotations, _, script = data
    out = tmp_path / "out"
    appended = PredictionStore.append

    def disk_fills_on_the_third_line(store, rank, record):
        if len(store.shard(rank).read_text().splitlines() if store.shard(rank).exists() else []) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        appended(store, rank, record)

    monkeypatch.setattr(PredictionStore, "append", disk_fills_on_the_third_line)
    with pytest.raises(DiskFullError, match=f"no space left on the device holding {out}"):
        evaluate(annotations, out, SETTINGS, backend=RoundScript(script), progress=False)
    monkeypatch.setattr(PredictionStore, "append", appended)
    assert evaluate(annotations, out, SETTINGS, backend=RoundScript(script), progress=False).evaluated_now == 3
    assert folder_files(out) == folder_files(uninterrupted)


def test_a_second_evaluation_into_a_folder_in_use_is_refused(data, tmp_path):
    from filelock import FileLock

    annotations, _, script = data
    out = tmp_path / "out"
    out.mkdir()
    with FileLock(out / runner.LOCK_FILE):   # another evaluation is writing here
        with pytest.raises(ConfigError, match="in use by another evaluation"):
            evaluate(annotations, out, SETTINGS, backend=RoundScript(script), progress=False)
        assert list(out.iterdir()) == [out / runner.LOCK_FILE]   # nothing written
    assert evaluate(annotations, out, SETTINGS, backend=RoundScript(script), progress=False).evaluated_now == 5


def test_media_paths_leading_outside_the_media_root_are_refused_unless_allowed(data, uninterrupted, tmp_path):
    annotations, samples, script = data
    listing = tmp_path / "lists" / "samples.jsonl"
    listing.parent.mkdir()
    media = Path(annotations).parent
    listing.write_text("".join(line.replace('"path": "', f'"path": "{os.path.relpath(media, listing.parent)}/') + "\n"
                               for line in Path(annotations).read_text().splitlines()))
    with pytest.raises(DataError, match=f"sample '{samples[0].id}': media path '..*' leads outside the media root "
                                        ".*--allow-media-outside-root"):
        evaluate(listing, tmp_path / "refused", SETTINGS, backend=RoundScript(script), progress=False)
    assert not (tmp_path / "refused").exists()
    result = evaluate(listing, tmp_path / "allowed", SETTINGS, backend=RoundScript(script), progress=False,
                      allow_media_outside_root=True)
    assert result.evaluated_now == 5 and not result.failures
