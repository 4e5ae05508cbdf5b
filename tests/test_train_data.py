"""Training data: checked before the first step, a resumable batch order, single-task batches (and
requests for a task's next batch), process shares, and the frames a tracking sample is shown."""

from __future__ import annotations

import json

import numpy as np
import pytest

from train_helpers import write_image_samples, write_video_samples
from videofocus.errors import ConfigError, DataError
from videofocus.media.sampling import nearest_frames
from videofocus.train.checkpoint import TrainerState
from videofocus.train.config import DatasetConfig
from videofocus.train.data import BatchOrder, BatchStream, DataPosition, load_training_samples


def test_samples_of_several_datasets_with_their_media_roots(tmp_path):
    videos = write_video_samples(tmp_path / "v", 2)
    images = write_image_samples(tmp_path / "i", 2)
    moved = tmp_path / "lists" / "images.jsonl"
    moved.parent.mkdir()
    moved.write_text(images.read_text())
    samples = load_training_samples([DatasetConfig(path=str(videos)),
                                     DatasetConfig(path=str(moved), media_root=str(tmp_path / "i"), max_samples=1)])
    assert [item.sample.media.type for item in samples] == ["video", "video", "image"]
    assert all(item.media_path.is_file() for item in samples)
    assert samples[2].source == f"{moved}:1"


def test_missing_media_is_found_before_training_and_names_the_fix(tmp_path):
    images = write_image_samples(tmp_path / "i", 2)
    moved = tmp_path / "elsewhere.jsonl"
    moved.write_text(images.read_text())
    with pytest.raises(ConfigError, match=r"elsewhere.jsonl:1: media file .*i0_0.png not found; set "
                                          r"datasets\[0\].media_root"):
        load_training_samples([DatasetConfig(path=str(moved))])


def test_media_paths_may_not_lead_outside_the_media_root_unless_allowed(tmp_path):
    images = write_image_samples(tmp_path / "i", 1)
    listing = tmp_path / "lists" / "images.jsonl"
    listing.parent.mkdir()
    listing.write_text(images.read_text().replace('"path": "i0_0.png"', '"path": "../i/i0_0.png"'))
    with pytest.raises(DataError, match=r"images.jsonl:1: media path '../i/i0_0.png' leads outside the media root .*"
                                        r"allow_media_outside_root.*\(field 'media.path'\)"):
        load_training_samples([DatasetConfig(path=str(listing))])
    allowed = load_training_samples([DatasetConfig(path=str(listing), allow_media_outside_root=True)])
    assert allowed[0].media_path.resolve() == (tmp_path / "i" / "i0_0.png").resolve()


def test_bad_files_and_tasks(tmp_path):
    with pytest.raises(ConfigError, match=r"datasets\[0\].path: no such file"):
        load_training_samples([DatasetConfig(path=str(tmp_path / "none.jsonl"))])
    videos = write_video_samples(tmp_path / "v", 1)
    with pytest.raises(ConfigError, match="sample task 'temporal_grounding' but datasets\\[0\\].task is 'tracking'"):
        load_training_samples([DatasetConfig(path=str(videos), task="tracking")])
    broken = tmp_path / "v" / "broken.jsonl"
    record = json.loads(videos.read_text())
    record["clue"] = {"intervals": [[3.0, 1.0]]}
    broken.write_text(json.dumps(record) + "\n")
    with pytest.raises(DataError, match="broken.jsonl:1.*clue"):
        load_training_samples([DatasetConfig(path=str(broken))])


def test_batch_order_is_a_seeded_permutation_without_remainder():
    order = BatchOrder(["a"] * 10, 4, seed=1)
    first = order.epoch(0)
    assert len(first) == order.batches_per_epoch == 2 and all(len(batch) == 4 for batch in first)
    assert len({index for batch in first for index in batch}) == 8
    assert first == BatchOrder(["a"] * 10, 4, seed=1).epoch(0)
    assert first != order.epoch(1)
    with pytest.raises(ConfigError, match="fewer than one global batch of 16"):
        BatchOrder(["a"] * 10, 16, seed=0)


def test_single_task_batches_hold_one_task_each():
    tasks = ["tg"] * 9 + ["track"] * 6 + ["gqa"] * 4
    order = BatchOrder(tasks, 3, seed=0, single_task_batches=True)
    batches = order.epoch(0)
    assert len(batches) == 3 + 2 + 1
    assert all(len({tasks[i] for i in batch}) == 1 for batch in batches)
    mixed = BatchOrder(tasks, 3, seed=0).epoch(0)
    assert any(len({tasks[i] for i in batch}) > 1 for batch in mixed)


def test_stream_shares_each_global_batch_between_processes_and_resumes():
    order = BatchOrder(["a"] * 12, 4, seed=0)
    streams = [BatchStream(order, num_epochs=2, process_index=rank, num_processes=2) for rank in range(2)]
    shares = [[stream.next() for _ in range(3)] for stream in streams]
    for step in range(3):
        assert sorted(shares[0][step] + shares[1][step]) == sorted(order.epoch(0)[step])
    resumed = BatchStream(order, num_epochs=2, process_index=0, num_processes=2)
    resumed.position = DataPosition(**vars(streams[0].position))
    assert resumed.next() == streams[0].next() == order.epoch(1)[0][:2]
    assert [streams[0].next() for _ in range(3)][-1] is None       # two epochs of three batches


def test_a_request_for_a_task_defers_the_batches_it_passes_over_and_a_resume_keeps_them():
    tasks = ["a"] * 6 + ["b"] * 6
    order = BatchOrder(tasks, 2, seed=0, single_task_batches=True)
    batches = order.epoch(0)
    stream = BatchStream(order, num_epochs=1)
    first = stream.next()
    task = tasks[first[0]]
    refills = [stream.next(task=task) for _ in range(2)]
    assert refills == [batch for batch in batches[1:] if tasks[batch[0]] == task][:2]
    passed = [batch for batch in batches[1:batches.index(refills[1])] if tasks[batch[0]] != task]
    assert passed                                     # the seed puts other batches in between

    resumed = BatchStream(order, num_epochs=1)
    saved = TrainerState(step=1, position=stream.position, config={}).to_json()
    resumed.position = TrainerState.from_json(saved).position
    rest = list(iter(resumed.next, None))
    assert rest[:len(passed)] == passed               # served first, in order
    assert sorted(map(tuple, [first, *refills, *rest])) == sorted(map(tuple, batches))   # each batch once


def test_a_request_for_a_task_with_no_batch_left_returns_none_and_loses_nothing():
    tasks = ["a"] * 2 + ["b"] * 4
    order = BatchOrder(tasks, 2, seed=0, single_task_batches=True)
    stream = BatchStream(order, num_epochs=1)
    served = [stream.next(task="a"), stream.next(task="a")]
    assert served[1] is None and tasks[served[0][0]] == "a"
    rest = list(iter(stream.next, None))
    assert sorted(map(tuple, [served[0], *rest])) == sorted(map(tuple, order.epoch(0)))


def test_tracking_frames_are_the_frames_nearest_to_the_track_times():
    times = np.array([0.0, 0.5, 1.0, 1.5, 2.0])
    assert nearest_frames(times, [0.0, 0.6, 1.26, 2.4]).tolist() == [0, 1, 3, 4]
    assert nearest_frames(np.array([0.0]), [0.0, 3.0]).tolist() == [0, 0]
