"""The tiny model factory: sizes per SPEC, determinism, the locally trained tokenizer, the CLI."""

from __future__ import annotations

import json
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.torch import load_file
from typer.testing import CliRunner

from videofocus.cli import app
from videofocus.errors import ConfigError
from videofocus.models import load_model
from videofocus.models.tiny import SPECIAL_TOKENS, TinySize, build_tiny_model, train_tokenizer

TOKENIZER = train_tokenizer()


def _config(path) -> dict:
    return json.loads((path / "config.json").read_text())


def test_qwen25_vl_sizes_follow_spec(tiny_qwen25_vl_path):
    config = _config(tiny_qwen25_vl_path)
    text, vision = config["text_config"], config["vision_config"]
    assert config["model_type"] == "qwen2_5_vl"
    assert (text["hidden_size"], text["num_hidden_layers"], text["num_attention_heads"],
            text["num_key_value_heads"]) == (64, 2, 4, 2)
    assert sum(text["rope_parameters"]["mrope_section"]) == 64 // 4 // 2
    assert (vision["depth"], vision["hidden_size"], vision["patch_size"], vision["temporal_patch_size"],
            vision["spatial_merge_size"], vision["fullatt_block_indexes"]) == (2, 32, 14, 2, 2, [1])
    assert vision["out_hidden_size"] == text["hidden_size"]


def test_qwen3_vl_sizes_follow_spec(tiny_qwen3_vl_path):
    config = _config(tiny_qwen3_vl_path)
    text, vision = config["text_config"], config["vision_config"]
    assert config["model_type"] == "qwen3_vl"
    assert vision["patch_size"] == 16
    assert math.isqrt(vision["num_position_embeddings"]) ** 2 == vision["num_position_embeddings"]
    assert vision["deepstack_visual_indexes"] and max(vision["deepstack_visual_indexes"]) < vision["depth"]
    assert text["rope_parameters"]["mrope_interleaved"] is True
    assert sum(text["rope_parameters"]["mrope_section"]) == text["head_dim"] // 2


@pytest.mark.parametrize("fixture", ["tiny_qwen25_vl_path", "tiny_qwen3_vl_path"])
def test_token_ids_in_config_match_the_tokenizer(fixture, request):
    path = request.getfixturevalue(fixture)
    config = _config(path)
    _, processor = load_model(path)
    tokenizer = processor.tokenizer
    assert config["image_token_id"] == tokenizer.convert_tokens_to_ids("<|image_pad|>")
    assert config["video_token_id"] == tokenizer.convert_tokens_to_ids("<|video_pad|>")
    assert config["vision_start_token_id"] == tokenizer.convert_tokens_to_ids("<|vision_start|>")
    assert config["text_config"]["vocab_size"] == len(tokenizer)
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.pad_token == "<|endoftext|>"


def test_default_model_has_about_two_hundred_thousand_parameters(tiny_qwen25_vl_path):
    weights = load_file(tiny_qwen25_vl_path / "model.safetensors")
    assert 150_000 < sum(tensor.numel() for tensor in weights.values()) < 300_000


def test_same_seed_same_weights_other_seed_other_weights(tmp_path, tiny_qwen25_vl_path):
    again = load_file(build_tiny_model(tmp_path / "again", seed=0) / "model.safetensors")
    other = load_file(build_tiny_model(tmp_path / "other", seed=1) / "model.safetensors")
    first = load_file(tiny_qwen25_vl_path / "model.safetensors")
    assert all(torch.equal(first[name], again[name]) for name in first)
    assert not all(torch.equal(first[name], other[name]) for name in first)
    assert (tmp_path / "again" / "tokenizer.json").read_text() == \
        (tiny_qwen25_vl_path / "tokenizer.json").read_text()


def test_building_leaves_the_global_torch_rng_alone(tmp_path):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    build_tiny_model(tmp_path / "model", seed=7)
    assert torch.equal(torch.rand(3), expected)


def test_custom_size_builds_the_larger_demo_model(tmp_path):
    size = TinySize(text_hidden=128, text_intermediate=256, vision_hidden=64, vision_intermediate=128,
                    vision_heads=4)
    path = build_tiny_model(tmp_path / "demo", arch="qwen2_5_vl", seed=0, size=size)
    config = _config(path)
    assert config["text_config"]["hidden_size"] == 128 and config["vision_config"]["hidden_size"] == 64
    assert sum(config["text_config"]["rope_parameters"]["mrope_section"]) == 128 // 4 // 2
    total = sum(tensor.numel() for tensor in load_file(path / "model.safetensors").values())
    assert 500_000 < total < 900_000


@pytest.mark.parametrize("size_args", [dict(text_hidden=60), dict(text_kv_heads=3), dict(vocab_size=100)])
def test_impossible_sizes_are_refused(size_args):
    with pytest.raises(ConfigError):
        TinySize(**size_args)


def test_unknown_arch_and_non_empty_directory_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="llava"):
        build_tiny_model(tmp_path / "x", arch="llava")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not an empty directory"):
        build_tiny_model(tmp_path / "full")
    assert [p.name for p in (tmp_path / "full").iterdir()] == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full"]  # no staging directory left


@given(st.text(alphabet="0123456789", min_size=1, max_size=40))
@settings(max_examples=50, deadline=None)
def test_every_digit_is_its_own_token(digits):
    tokens = TOKENIZER.convert_ids_to_tokens(TOKENIZER(digits, add_special_tokens=False).input_ids)
    assert tokens == list(digits)


@given(st.text(alphabet="0123456789 .,()[]<>/abcdefghijklmnopqrstuvwxyzé\n", max_size=60))
@settings(max_examples=50, deadline=None)
def test_no_token_holds_a_digit_next_to_anything_and_text_round_trips(text):
    ids = TOKENIZER(text, add_special_tokens=False).input_ids
    for token in TOKENIZER.convert_ids_to_tokens(ids):
        assert not any(char.isdigit() for char in token) or len(token) == 1
    assert TOKENIZER.decode(ids) == text


def test_special_tokens_are_single_ids_and_tags_are_learned():
    for token in SPECIAL_TOKENS:
        assert len(TOKENIZER(token, add_special_tokens=False).input_ids) == 1
    # The corpus teaches the answer tags: "<answer>" is far fewer than its 8 bytes.
    assert len(TOKENIZER("<answer>", add_special_tokens=False).input_ids) <= 4


@pytest.mark.parametrize("fixture", ["tiny_qwen25_vl_path", "tiny_qwen3_vl_path"])
def test_chat_template_renders_a_video_as_the_qwen_placeholder(fixture, request):
    _, processor = load_model(request.getfixturevalue(fixture))
    messages = [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": "When?"}]}]
    text = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert "<|im_start|>user\n<|vision_start|><|video_pad|><|vision_end|>When?<|im_end|>\n" in text
    assert text.endswith("<|im_start|>assistant\n")


def test_cli_writes_a_loadable_model_and_refuses_unknown_arch(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["tiny-model", str(tmp_path / "cli"), "--arch", "qwen3_vl", "--seed", "3"])
    assert result.exit_code == 0, result.output
    model, _ = load_model(tmp_path / "cli")
    assert model.config.model_type == "qwen3_vl"
    result = runner.invoke(app, ["tiny-model", str(tmp_path / "bad"), "--arch", "llama"])
    assert result.exit_code != 0 and isinstance(result.exception, ConfigError)
    assert not (tmp_path / "bad").exists()
