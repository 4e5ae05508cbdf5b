"""Frames decoded at the model's size: a large video's frames never exist at full size in perception
or training, and the pixels match decoding at full size and resizing as `encode_prompts` does."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import AutoProcessor

from videofocus.backends.hf import HFBackend
from videofocus.media.encode import write_video
from videofocus.media.video import probe, read_frames
from videofocus.models import load_model
from videofocus.models.inputs import PixelLimits, _resize_frames, resized_size, video_decode_size
from videofocus.perception.views import VideoSource

LIMITS = PixelLimits(min_pixels=64 * 28 * 28, max_pixels=160 * 28 * 28)


@pytest.fixture(scope="module")
def large_video(tmp_path_factory):
    """4 frames of 1280 x 720 with smooth shapes (resamplers differ on noise, not on pictures)."""
    ys, xs = np.mgrid[0:720, 0:1280]
    frames = []
    for k in range(4):
        frame = np.stack([(xs * 255 // 1279), (ys * 255 // 719), np.full_like(xs, 60 * k)], axis=-1)
        disc = (xs - 300 - 150 * k) ** 2 + (ys - 360) ** 2 < 120 ** 2
        frame[disc] = (250, 30, 30)
        frames.append(frame.astype(np.uint8))
    return write_video(tmp_path_factory.mktemp("large") / "large.mp4", np.stack(frames), fps=2, options={"crf": "10"})


def test_frames_are_decoded_at_the_budgeted_size_with_the_pixels_of_the_old_resize(tiny_qwen25_vl_path, large_video):
    processor = AutoProcessor.from_pretrained(tiny_qwen25_vl_path)
    info = probe(large_video)
    size = video_decode_size(processor, info.height, info.width, LIMITS)
    assert size == resized_size(processor, 720, 1280, LIMITS, video=True) and size[0] * size[1] <= LIMITS.max_pixels

    decoded = read_frames(info, [0, 1, 2, 3], size=size).frames
    full = read_frames(info, [0, 1, 2, 3]).frames
    resized_before = _resize_frames(processor, full, LIMITS).permute(0, 2, 3, 1).numpy()
    assert decoded.shape == resized_before.shape == (4, *size, 3)
    difference = np.abs(decoded.astype(int) - resized_before.astype(int))
    assert difference.mean() < 1.5 and np.percentile(difference, 99) < 12
    assert torch.equal(_resize_frames(processor, decoded, LIMITS).permute(0, 2, 3, 1), torch.from_numpy(decoded))


def test_a_small_video_is_decoded_as_it_is(tiny_qwen25_vl_path):
    processor = AutoProcessor.from_pretrained(tiny_qwen25_vl_path)
    assert video_decode_size(processor, 56, 56, LIMITS) is None   # the model would enlarge it


def test_perception_decodes_at_the_size_the_backend_resizes_to(tiny_qwen25_vl_path, large_video):
    model, processor = load_model(tiny_qwen25_vl_path, device="cpu")
    backend = HFBackend(model, processor, video_min_pixels=LIMITS.min_pixels, video_max_pixels=LIMITS.max_pixels)
    clip = VideoSource.open(large_video, decode_size=backend.video_decode_size).clip([0, 3]).clip
    assert clip.frames.shape == (2, *resized_size(processor, 720, 1280, LIMITS, video=True), 3)
