"""SFT's step: micro-batches are cut in order of length (less padding), however a step's samples are
split into micro-batches the update is the same, and the loss weighs tokens or samples alike."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import videofocus.train.run as run_module
import videofocus.train.sft as sft_module
from train_helpers import load_weights, one_torch_thread, sft_config, write_image_samples, write_video_samples  # noqa: F401
from train_itp_helpers import write_long_videos
from videofocus.backends.base import box_convention_for
from videofocus.errors import ConfigError
from videofocus.media.sampling import clue_mask
from videofocus.media.video import probe
from videofocus.models import load_model
from videofocus.train.batch import collate
from videofocus.train.data import LoopView, build_prompt, load_training_samples, make_example, with_loop_views
from videofocus.train.logging import read_metrics
from videofocus.train.policy import completion_logprobs
from videofocus.train.sft import target_ids, train_sft, trained_tokens


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


@torch.no_grad()
def _target_losses(model_path, config) -> list[tuple[float, int]]:
    """(summed cross-entropy, token count) of every sample's target under the untrained model."""
    model, processor = load_model(model_path, device="cpu")
    convention = box_convention_for(model.config.model_type)
    losses = []
    for item in load_training_samples(config.datasets):
        example = make_example(item, processor, config, "cpu")
        target = target_ids(example, processor.tokenizer, config.protocol, convention)
        logps, _ = completion_logprobs(model, collate([example.inputs], [target],
                                                      pad_token_id=processor.tokenizer.pad_token_id))
        losses.append((-logps.sum().item(), len(target)))
    return losses


def test_loss_weighting_averages_over_tokens_or_over_samples(tiny_qwen25_vl_path, videos, tmp_path):
    images = write_image_samples(tmp_path / "images", 2)   # box answers: targets of another length
    logged = {}
    for weighting in ("token", "sample"):
        config = sft_config(tiny_qwen25_vl_path, tmp_path / weighting, [videos, images], per_device_batch_size=3,
                            gradient_accumulation_steps=2, max_steps=1, loss_weighting=weighting)
        logged[weighting] = read_metrics(train_sft(config) / "metrics.jsonl")[0]["loss"]
    losses = _target_losses(tiny_qwen25_vl_path, config)
    assert len({count for _, count in losses}) > 1
    token_mean = sum(total for total, _ in losses) / sum(count for _, count in losses)
    sample_mean = sum(total / count for total, count in losses) / len(losses)
    assert logged["token"] == pytest.approx(token_mean, rel=1e-5)
    assert logged["sample"] == pytest.approx(sample_mean, rel=1e-5)
    assert abs(token_mean - sample_mean) > 1e-3


def test_loop_views_add_round_one_and_a_focused_round_two_per_grounded_video(videos, tmp_path):
    images = write_image_samples(tmp_path / "images", 2)
    config = sft_config("unused", tmp_path / "out", [videos, images], loop_view_frames=4)
    plain = load_training_samples(config.datasets)
    items = with_loop_views(plain, 4)
    video_items = [item for item in plain if item.sample.media.type == "video"]
    assert len(items) == len(plain) + 2 * len(video_items)
    assert len(with_loop_views(plain, 4, images=True)) == len(items) + 2   # and a round-2 view per image
    for item in video_items:
        views = [other for other in items if other.sample.id == item.sample.id]
        assert [view.view for view in views] == [None, LoopView(4, False), LoopView(4, True)]
        info = probe(item.media_path)
        shown = {view.view: build_prompt(view, config).video.timestamps for view in views}
        assert len(shown[None]) == min(info.num_frames, config.video_max_frames)   # 2 fps videos: every frame, capped
        assert np.allclose(shown[LoopView(4, False)], info.frame_times[np.round(np.linspace(0, info.num_frames - 1, 4)).astype(int)])
        on_screen = clue_mask(info, item.sample.clue.intervals)   # frames shown during the clue
        inside = {view: int(on_screen[np.searchsorted(info.frame_times, times)].sum()) for view, times in shown.items()}
        assert len(shown[LoopView(4, True)]) == 4 and inside[LoopView(4, True)] >= min(2, inside[None])
        if info.num_frames > 4:
            assert inside[LoopView(4, True)] >= inside[LoopView(4, False)]


def test_an_image_loop_view_shows_the_full_image_and_a_crop_of_the_true_box_and_trains_the_same_target(
        tiny_qwen25_vl_path, tmp_path):
    config = sft_config(tiny_qwen25_vl_path, tmp_path / "out", [write_image_samples(tmp_path / "images", 2)],
                        image_loop_views=True)
    plain = load_training_samples(config.datasets)
    items = with_loop_views(plain, None, images=True)
    assert [(item.sample.id, item.view) for item in items] == [
        (plain[0].sample.id, None), (plain[0].sample.id, LoopView(None, True)),
        (plain[1].sample.id, None), (plain[1].sample.id, LoopView(None, True))]
    full = np.asarray(Image.open(plain[0].media_path).convert("RGB"))
    shown = build_prompt(items[1], config).images
    # The clue box [4, 8, 30, 40] widened by the loop's 10 % margin on each side, whole pixels.
    assert len(shown) == 2 and np.array_equal(np.asarray(shown[0]), full)
    assert np.array_equal(np.asarray(shown[1]), full[4:44, 1:33])
    assert len(build_prompt(items[0], config).images) == 1
    model, processor = load_model(tiny_qwen25_vl_path, device="cpu")
    convention = box_convention_for(model.config.model_type)
    examples = [make_example(item, processor, config, "cpu") for item in items[:2]]
    targets = [target_ids(example, processor.tokenizer, config.protocol, convention) for example in examples]
    assert torch.equal(targets[0], targets[1])          # the box in the full image's coordinates, as in round 1
    assert trained_tokens(examples[1], targets[1], processor.tokenizer) is None


def test_sft_with_loop_views_trains_on_every_view(tiny_qwen25_vl_path, videos, tmp_path, monkeypatch):
    shown = []
    original = run_module.make_example

    def recording(item, *args, **kwargs):
        shown.append((item.sample.id, item.view))
        return original(item, *args, **kwargs)

    monkeypatch.setattr(run_module, "make_example", recording)
    train_sft(sft_config(tiny_qwen25_vl_path, tmp_path / "views", [videos], per_device_batch_size=4, max_steps=3,
                         loop_view_frames=4))   # 4 videos x 3 views: one epoch
    ids = {sample_id for sample_id, _ in shown}
    assert len(ids) == 4 and sorted(shown, key=str) == sorted(
        [(sample_id, view) for sample_id in ids for view in (None, LoopView(4, False), LoopView(4, True))], key=str)


def test_loop_views_need_a_whole_temporal_pair(tmp_path, videos):
    with pytest.raises(ConfigError, match="loop_view_frames"):
        sft_config("unused", tmp_path / "out", [videos], loop_view_frames=1)


def test_a_round_one_loop_view_trains_its_clue_only(tiny_qwen25_vl_path, tmp_path):
    config = sft_config(tiny_qwen25_vl_path, tmp_path / "clue_only", [write_long_videos(tmp_path / "qa", 1)],
                        per_device_batch_size=3, max_steps=1, loop_view_frames=4, loss_weighting="sample")
    model, processor = load_model(tiny_qwen25_vl_path, device="cpu")
    convention = box_convention_for(model.config.model_type)
    expected = []
    with torch.no_grad():
        for item in with_loop_views(load_training_samples(config.datasets), 4):
            example = make_example(item, processor, config, "cpu")
            target = target_ids(example, processor.tokenizer, config.protocol, convention)
            mask = trained_tokens(example, target, processor.tokenizer)
            text = processor.tokenizer.decode(target if mask is None else target[mask.bool()], skip_special_tokens=True)
            if item.view == LoopView(4, False):
                assert "<clue>" in text and "<answer>" not in text and "<think>" not in text
            else:
                assert mask is None and "<answer>A</answer>" in text
            logps, _ = completion_logprobs(model, collate([example.inputs], [target],
                                                          pad_token_id=processor.tokenizer.pad_token_id))
            weights = torch.ones(len(target)) if mask is None else mask
            expected.append((-logps[0] * weights).sum().item() / weights.sum().item())
    logged = read_metrics(train_sft(config) / "metrics.jsonl")[0]["loss"]
    assert logged == pytest.approx(sum(expected) / 3, rel=1e-5)
