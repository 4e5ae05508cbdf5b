"""load_model: the from_pretrained path users take with a Hub id, defaults, and clear failures."""

from __future__ import annotations

import importlib.util
import logging
import logging.handlers
import shutil

import huggingface_hub
import huggingface_hub.constants
import pytest
import torch
import transformers
from models_helpers import make_clip
from transformers.utils import logging as hf_logging

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
    assert "neither a local model folder nor" in message and "HF_HUB_OFFLINE" in message
    assert "\n" not in message


@pytest.fixture
def hub_never_downloads(monkeypatch, tmp_path):
    """An empty Hub cache, and transformers failing the test if asked to fetch anything."""
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(transformers.AutoConfig, "from_pretrained",
                        lambda *args, **kwargs: pytest.fail("transformers was asked for the model"))


def test_a_mistyped_name_fails_before_any_download_when_the_hub_cannot_be_reached(monkeypatch,
                                                                                   hub_never_downloads):
    def no_network(self, repo_id, **kwargs):
        raise ConnectionError("[Errno -2] Name or service not known")

    monkeypatch.setattr(huggingface_hub.HfApi, "repo_exists", no_network)
    with pytest.raises(VideoFocusError) as caught:
        load_model("tiny-qwen25vl")
    message = str(caught.value)
    assert message.startswith("'tiny-qwen25vl' is neither a local model folder nor a Hugging Face Hub model in "
                              "the local cache")
    assert "the Hub cannot be reached (" in message and "check the name" in message


def test_a_name_the_hub_does_not_have_says_so(monkeypatch, hub_never_downloads):
    monkeypatch.setattr(huggingface_hub.HfApi, "repo_exists", lambda self, repo_id, **kwargs: False)
    with pytest.raises(VideoFocusError, match="neither a local model folder .* the Hub has no model 'org/typo'"):
        load_model("org/typo")


def test_a_cached_hub_model_loads_offline_without_asking_the_hub(monkeypatch, tmp_path, tiny_qwen25_vl_path):
    repo = tmp_path / "hub" / "models--videofocus-tests--tiny"
    shutil.copytree(tiny_qwen25_vl_path, repo / "snapshots" / "abc")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.HfApi, "repo_exists", lambda *args, **kwargs: pytest.fail("asked the Hub"))
    model, _ = load_model("videofocus-tests/tiny")
    assert model.config.model_type == "qwen2_5_vl"


def test_loading_shows_no_weights_bar_and_leaves_bars_as_they_were(tiny_qwen3_vl_path, capfd):
    assert hf_logging.is_progress_bar_enabled()
    load_model(tiny_qwen3_vl_path)
    assert "Loading weights" not in capfd.readouterr().err
    assert hf_logging.is_progress_bar_enabled()


def test_qwen3_video_encoding_prints_no_pixel_cap_notice(tiny_qwen3_vl_path):
    _, processor = load_model(tiny_qwen3_vl_path)
    logging.Logger.warning_once.cache_clear()  # transformers says it once per process: forget earlier calls
    # transformers' own handler writes to the stderr of its import time; listen on its logger instead.
    notices = logging.handlers.BufferingHandler(capacity=1000)
    logging.getLogger("transformers").addHandler(notices)
    try:
        encode_prompts(processor, [Prompt(text="what happens?", video=make_clip([0.0, 0.5, 1.0, 1.5]))])
    finally:
        logging.getLogger("transformers").removeHandler(notices)
    assert not [record for record in notices.buffer if "cap_pixels_per_frame" in record.getMessage()]


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
