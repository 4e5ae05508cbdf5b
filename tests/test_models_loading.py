"""load_model: the from_pretrained path users take with a Hub id, defaults, and clear failures."""

from __future__ import annotations

import importlib.util

import huggingface_hub.constants
import pytest
import torch
from models_helpers import make_clip

from videofocus.errors import ConfigError, VideoFocusError
from videofocus.models import load_model
from videofocus.models.inputs import Prompt, encode_prompts, vision_token_ids


@pytest.mark.parametrize("fixture, model_type", [("tiny_qwen25_vl_path", "qwen2_5_vl"),
                                                 ("tiny_qwen3_vl_path", "qwen3_vl")])
def test_loads_model_and_processor_with_cpu_defaults(fixture, model_type, request):
    model, processor = load_model(request.getfixturevalue(fixture))
    assert model.config.model_type == model_type
    assert type(model).__name__.endswith("ForConditionalGeneration")
    assert model.dtype == torch.float32 and model.device.type == "cpu"
    assert model.config._attn_implementation == "sdpa"
    assert not model.training
    assert processor.tokenizer.padding_side == "left"
    assert processor.video_token_id == model.config.video_token_id


def test_dtype_and_attention_can_be_chosen(tiny_qwen25_vl_path):
    model, _ = load_model(str(tiny_qwen25_vl_path), dtype="bf16", attn_implementation="eager")
    assert model.dtype == torch.bfloat16
    assert model.config._attn_implementation == "eager"


def test_unknown_dtype_is_a_config_error(tiny_qwen25_vl_path):
    with pytest.raises(ConfigError, match="unknown dtype 'float8'"):
        load_model(tiny_qwen25_vl_path, dtype="float8")


def test_missing_local_path_fails_at_once_naming_it(tmp_path):
    with pytest.raises(VideoFocusError, match="no model directory at '.*missing'"):
        load_model(tmp_path / "missing")


def test_directory_without_a_model_names_the_directory(tmp_path):
    (tmp_path / "notes.txt").write_text("not a model")
    with pytest.raises(VideoFocusError, match=f"cannot load a model '{tmp_path}' from the directory"):
        load_model(tmp_path)


def test_a_file_instead_of_the_directory_is_explained(tiny_qwen25_vl_path):
    with pytest.raises(VideoFocusError, match="is a file; give the model directory"):
        load_model(tiny_qwen25_vl_path / "config.json")


def test_hub_id_that_cannot_be_fetched_is_one_clear_error(monkeypatch):
    # Offline mode stands in for "no network": the real call would retry for minutes first.
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(VideoFocusError) as caught:
        load_model("videofocus-tests/no-such-model")
    message = str(caught.value)
    assert "'videofocus-tests/no-such-model'" in message and "Hugging Face Hub" in message
    assert "\n" not in message


@pytest.mark.gpu
@pytest.mark.parametrize("fixture", ["tiny_qwen25_vl_path", "tiny_qwen3_vl_path"])
def test_gpu_defaults_are_bf16_with_the_fastest_attention_and_generation_works(fixture, request):
    model, processor = load_model(request.getfixturevalue(fixture))
    assert model.device.type == "cuda" and model.dtype == torch.bfloat16
    expected = "flash_attention_2" if importlib.util.find_spec("flash_attn") else "sdpa"
    assert model.config._attn_implementation == expected
    batch = encode_prompts(processor, [Prompt("When?", video=make_clip([0.0, 0.5, 1.0, 1.5])),
                                       Prompt("And now?", video=make_clip([0.0, 1.0, 2.0, 3.0, 4.0, 5.0]))],
                           video_min_pixels=28 * 28, video_max_pixels=64 * 64).to(model.device)
    out = model.generate(**batch, max_new_tokens=4, do_sample=True,
                         bad_words_ids=[[i] for i in vision_token_ids(processor)])
    assert out.shape == (2, batch.input_ids.shape[1] + 4)
