"""Damaged checkpoints: each is written with its checksums; a resume verifies them, falls back to the
newest intact checkpoint with a message, and with none intact stops with a clear error. A disk that
fills up while checkpointing is a clear error that leaves the earlier checkpoints as they were."""

from __future__ import annotations

import errno
import shutil
import stat

import pytest
import torch

from train_helpers import load_weights, one_torch_thread, sft_config, write_video_samples  # noqa: F401
from videofocus import storage
from videofocus.errors import DiskFullError, VideoFocusError
from videofocus.train.checkpoint import checkpoint_problem, latest_intact_checkpoint
from videofocus.train.sft import train_sft


@pytest.fixture(scope="module")
def straight(tiny_qwen25_vl_path, tmp_path_factory):
    """A 3-step SFT run that kept a checkpoint after every step."""
    root = tmp_path_factory.mktemp("checkpoint")
    videos = write_video_samples(root / "data", 4)
    output = train_sft(sft_config(tiny_qwen25_vl_path, root / "run", [videos], max_steps=3, save_steps=1))
    return output, videos


def _copy(straight, tmp_path):
    output = tmp_path / "run"
    shutil.copytree(straight[0], output)
    (output / "model.safetensors").unlink()   # as if it was killed after its last checkpoint
    return output


def _file(checkpoint, name):
    return next(path for path in checkpoint.rglob("*") if path.is_file() and path.name.startswith(name))


def test_a_truncated_latest_checkpoint_falls_back_to_the_previous_one_and_resumes_exactly(
        straight, tiny_qwen25_vl_path, tmp_path, capsys):
    output = _copy(straight, tmp_path)
    model_file = _file(output / "checkpoints" / "step-00000003", "model")
    model_file.write_bytes(model_file.read_bytes()[:1000])

    resumed = train_sft(sft_config(tiny_qwen25_vl_path, output, [straight[1]], max_steps=3, save_steps=1), resume=True)

    message = " ".join(capsys.readouterr().err.split())
    assert "step-00000003 is damaged" in message and "moved to damaged-step-00000003" in message
    assert (output / "checkpoints" / "damaged-step-00000003").is_dir()
    first, second = load_weights(straight[0]), load_weights(resumed)
    assert all(torch.equal(first[name], second[name]) for name in first)


@pytest.mark.parametrize("damage", ["zeroed optimizer block", "emptied rng state", "no checksums"])
def test_damage_that_keeps_a_file_loadable_is_found(straight, tmp_path, damage):
    checkpoint = tmp_path / "step-00000002"
    shutil.copytree(straight[0] / "checkpoints" / "step-00000002", checkpoint)
    assert checkpoint_problem(checkpoint) is None
    if damage == "zeroed optimizer block":
        optimizer = _file(checkpoint, "optimizer")
        data = bytearray(optimizer.read_bytes())
        data[len(data) // 2:len(data) // 2 + 4096] = bytes(4096)
        optimizer.write_bytes(bytes(data))
    elif damage == "emptied rng state":
        _file(checkpoint, "random_states").write_bytes(b"")
    else:
        (checkpoint / "checksums.json").unlink()
    assert checkpoint_problem(checkpoint) is not None


def test_no_intact_checkpoint_is_a_clear_error(straight, tmp_path):
    output = _copy(straight, tmp_path)
    for checkpoint in (output / "checkpoints").iterdir():
        _file(checkpoint, "trainer_state").write_text("{}")
    with pytest.raises(VideoFocusError, match="no intact checkpoint .* to resume from"):
        latest_intact_checkpoint(output, say=lambda message: None)


def test_a_full_disk_while_checkpointing_is_a_clear_error_that_keeps_the_earlier_checkpoints(
        straight, tiny_qwen25_vl_path, tmp_path, monkeypatch):
    from accelerate import Accelerator

    saved = Accelerator.save_state
    calls = []

    def fills_the_disk_on_the_second_checkpoint(accelerator, folder, **kwargs):
        calls.append(folder)
        saved(accelerator, folder, **kwargs)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Accelerator, "save_state", fills_the_disk_on_the_second_checkpoint)
    output = tmp_path / "run"
    with pytest.raises(DiskFullError, match=f"no space left on the device holding {output}"):
        train_sft(sft_config(tiny_qwen25_vl_path, output, [straight[1]], max_steps=3, save_steps=1))
    assert [path.name for path in (output / "checkpoints").iterdir()] == ["step-00000001"]   # no staging left
    assert checkpoint_problem(output / "checkpoints" / "step-00000001") is None


@pytest.mark.parametrize(("error", "free", "full"), [
    (OSError(errno.ENOSPC, "No space left on device"), 1 << 40, True),
    (RuntimeError("Error while serializing: I/O error: No space left on device (os error 28)"), 1 << 40, True),
    (RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 576 vs 534"), 1000, True),
    (RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 576 vs 534"), 1 << 40, False),
    (RuntimeError("CUDA out of memory"), 1000, False),
], ids=["ENOSPC", "safetensors", "torch writer on a full disk", "torch writer with space left", "other"])
def test_the_ways_a_full_disk_shows_up_are_recognised(tmp_path, monkeypatch, error, free, full):
    monkeypatch.setattr(storage, "_free_bytes", lambda folder: free)
    assert (storage.as_disk_full(error, tmp_path) is not None) == full


def test_saved_models_and_checkpoints_get_the_umask_permissions_not_private_ones(straight, tiny_qwen25_vl_path):
    expected = storage.new_file_mode()
    weights = [straight[0] / "model.safetensors", _file(straight[0] / "checkpoints" / "step-00000003", "model"),
               tiny_qwen25_vl_path / "model.safetensors"]
    assert expected != 0o600 and [stat.S_IMODE(path.stat().st_mode) for path in weights] == [expected] * 3
    assert stat.S_IMODE(tiny_qwen25_vl_path.stat().st_mode) == 0o777 & ~(0o666 & ~expected)
