"""SFT's step: micro-batches are cut in order of length (less padding), and however a step's samples
are split into micro-batches, the update is the same."""

from __future__ import annotations

import pytest
import torch

import videofocus.train.sft as sft_module
from train_helpers import load_weights, one_torch_thread, sft_config, write_video_samples  # noqa: F401
from videofocus.train.sft import train_sft


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    return write_video_samples(tmp_path_factory.mktemp("sft"), 4)   # 2 to 6 s: prompts of different lengths


def test_micro_batches_hold_examples_of_similar_length_and_give_the_same_update(tiny_qwen25_vl_path, videos,
                                                                                tmp_path, monkeypatch):
    widths = []
    original = sft_module.collate

    def recording(prompts, completions, **kwargs):
        widths.append([len(prompt.input_ids) + len(ids) for prompt, ids in zip(prompts, completions)])
        return original(prompts, completions, **kwargs)

    monkeypatch.setattr(sft_module, "collate", recording)
    outputs = {}
    for size in (4, 2, 1):
        widths.clear()
        outputs[size] = load_weights(train_sft(sft_config(tiny_qwen25_vl_path, tmp_path / f"mb{size}", [videos],
                                                          per_device_batch_size=size,
                                                          gradient_accumulation_steps=4 // size, max_steps=1)))
        lengths = [length for batch in widths for length in batch]
        assert len(widths) == 4 // size and lengths == sorted(lengths) and len(set(lengths)) > 1
    for size in (2, 1):
        assert max((outputs[4][name] - outputs[size][name]).abs().max().item() for name in outputs[4]) < 1e-5
