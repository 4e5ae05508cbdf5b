"""Box conventions, and the vLLM backend: its requests (built on CPU), its missing-dependency error,
and a real run where CUDA and vLLM are present."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest
import torch
from perception_helpers import one_torch_thread, write_image, write_noise_video  # noqa: F401 (fixture)

from videofocus.backends import BoxConvention, box_convention_for
from videofocus.errors import ConfigError
from videofocus.media.image import load_image
from videofocus.models import load_model
from videofocus.models.inputs import PixelLimits, Prompt, encode_prompts
from videofocus.perception.views import VideoSource

LIMITS = dict(video_min_pixels=16 * 28 * 28, video_max_pixels=24 * 28 * 28, image_min_pixels=4 * 28 * 28,
              image_max_pixels=24 * 28 * 28)


@pytest.mark.parametrize("convention, box, expected", [
    (BoxConvention.ORIGINAL_PIXELS, [10, 20, 30, 40], [10, 20, 30, 40]),
    (BoxConvention.RESIZED_PIXELS, [10, 20, 30, 40], [20, 60, 60, 120]),  # seen at half width, a third of height
    (BoxConvention.NORMALIZED_1000, [100, 500, 300, 1000], [100, 300, 300, 600]),
])
def test_box_conventions_map_to_original_pixels(convention, box, expected):
    assert convention.to_original(box, original_size=(1000, 600), model_size=(500, 200)) == expected


def test_box_convention_follows_the_model_family():
    assert box_convention_for("qwen2_5_vl") is BoxConvention.RESIZED_PIXELS
    assert box_convention_for("qwen3_vl") is BoxConvention.NORMALIZED_1000
    with pytest.raises(ConfigError, match="llava"):
        box_convention_for("llava")


def test_vllm_backend_without_vllm_says_how_to_install(monkeypatch):
    from videofocus.backends.vllm import VLLMBackend

    monkeypatch.setitem(sys.modules, "vllm", None)  # import vllm now raises ImportError
    with pytest.raises(ConfigError, match=r"videofocus\[vllm\]"):
        VLLMBackend("any-model")


@pytest.fixture(scope="module")
def clip_and_image(tmp_path_factory):
    folder = tmp_path_factory.mktemp("vllm")
    source = VideoSource.open(write_noise_video(folder / "clip.mp4", seconds=4.0, fps=4))
    clip = source.clip([0, 1, 5, 9, 10, 14, 15]).clip  # uneven and odd: padded to whole pairs
    return clip, load_image(write_image(folder / "photo.png", width=200, height=150))


@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize("arch_fixture", ["tiny_qwen25_vl_path", "tiny_qwen3_vl_path"])
@pytest.mark.parametrize("video_total_pixels", [None, 60_000])  # 60 000 shrinks the 8 padded frames
def test_vllm_requests_carry_what_encode_prompts_gives_transformers(arch_fixture, video_total_pixels, request,
                                                                     clip_and_image):
    from videofocus.backends.vllm import RequestBuilder

    clip, image = clip_and_image
    _, processor = load_model(request.getfixturevalue(arch_fixture), device="cpu")
    model_type = "qwen3_vl" if "qwen3" in arch_fixture else "qwen2_5_vl"
    video_limits = PixelLimits(LIMITS["video_min_pixels"], LIMITS["video_max_pixels"], video_total_pixels)
    builder = RequestBuilder(processor, model_type, video_limits,
                             PixelLimits(LIMITS["image_min_pixels"], LIMITS["image_max_pixels"]))
    prompt = Prompt(text="Where?", video=clip, images=[image])
    vllm_prompt, image_sizes = builder.build(prompt)
    hf = encode_prompts(processor, [prompt], video_total_pixels=video_total_pixels, **LIMITS)
    patch = processor.video_processor.patch_size
    video = vllm_prompt["multi_modal_data"]["video"]
    frames = video[0][0] if model_type == "qwen3_vl" else video
    t, h, w = hf["video_grid_thw"][0].tolist()
    assert frames.shape == (2 * t, h * patch, w * patch, 3) and frames.dtype == np.uint8
    _, ih, iw = hf["image_grid_thw"][0].tolist()
    assert image_sizes == ((iw * patch, ih * patch),) == (vllm_prompt["multi_modal_data"]["image"][0].size,)
    assert vllm_prompt["mm_processor_kwargs"]["do_resize"] is False
    if model_type == "qwen3_vl":
        metadata = video[0][1]
        times = list(clip.timestamps) + [clip.timestamps[-1]]
        assert metadata["frames_indices"] == [round(time * 1000) for time in times]
        assert metadata["fps"] == 1000.0 and metadata["do_sample_frames"] is False
        assert "<|vision_start|><|video_pad|><|vision_end|>" in vllm_prompt["prompt"]
    else:
        fps = vllm_prompt["mm_processor_kwargs"]["fps"]
        assert 2 / fps == pytest.approx(float(hf["second_per_grid_ts"][0]))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available() or importlib.util.find_spec("vllm") is None,
                    reason="the vLLM backend needs CUDA and the vllm package")
@pytest.mark.parametrize("arch_fixture", ["tiny_qwen25_vl_path", "tiny_qwen3_vl_path"])
def test_vllm_backend_generates_with_the_same_visual_tokens_as_transformers(arch_fixture, request, clip_and_image):
    from videofocus.backends.hf import HFBackend
    from videofocus.backends.vllm import VLLMBackend

    path = request.getfixturevalue(arch_fixture)
    clip, image = clip_and_image
    prompts = [Prompt(text="When?", video=clip), Prompt(text="Where?", images=[image])]
    vllm_backend = VLLMBackend(path, max_new_tokens=8, dtype="float32", gpu_memory_utilization=0.3,
                               max_model_len=2048, enforce_eager=True,
                               video_limits=PixelLimits(LIMITS["video_min_pixels"], LIMITS["video_max_pixels"]),
                               image_limits=PixelLimits(LIMITS["image_min_pixels"], LIMITS["image_max_pixels"]))
    model, processor = load_model(path, dtype="float32")
    hf_backend = HFBackend(model, processor, max_new_tokens=8, **LIMITS)
    vllm_out, hf_out = vllm_backend.generate(prompts), hf_backend.generate(prompts)
    assert [g.visual_tokens for g in vllm_out] == [g.visual_tokens for g in hf_out]
    assert [g.image_sizes for g in vllm_out] == [g.image_sizes for g in hf_out]
    for generation in vllm_out:
        assert 1 <= generation.completion_tokens <= 8 and isinstance(generation.text, str)
        assert "<|video_pad|>" not in generation.text and "<|image_pad|>" not in generation.text
