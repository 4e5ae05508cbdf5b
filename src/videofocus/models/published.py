"""The dimensions of the published Qwen2.5-VL-3B/-7B and Qwen3-VL-8B checkpoints (their config.json
files on the Hub), to build configs of real size offline: for the memory-sizing formula
(`videofocus.train.memory`) and the GPU check (benchmarks/gpu_check.py), which runs random weights
of these shapes. The token ids are the local tokenizer's (`tiny.train_tokenizer`), not Qwen's: the
vocabulary size stays the published one, so embeddings, LM head and logits have their real size."""

from __future__ import annotations

import copy
import shutil
import tempfile
from pathlib import Path
from typing import Any

from transformers import GenerationConfig, Qwen2_5_VLConfig, Qwen3VLConfig

from videofocus.errors import ConfigError
from videofocus.models.tiny import EOS_TOKEN, PAD_TOKEN, build_processor, special_token_ids, train_tokenizer

_QWEN25_VISION = dict(depth=32, hidden_size=1280, intermediate_size=3420, num_heads=16, hidden_act="silu",
                      patch_size=14, spatial_merge_size=2, temporal_patch_size=2, window_size=112,
                      fullatt_block_indexes=[7, 15, 23, 31], tokens_per_second=2)
_QWEN25_ROPE = {"rope_type": "default", "rope_theta": 1_000_000.0, "mrope_section": [16, 24, 24]}

# arch, text_config, vision_config, tie_word_embeddings: as in each checkpoint's config.json.
PUBLISHED: dict[str, dict[str, Any]] = {
    "Qwen2.5-VL-3B": dict(
        arch="qwen2_5_vl", tie_word_embeddings=True,
        text=dict(vocab_size=151936, hidden_size=2048, intermediate_size=11008, num_hidden_layers=36,
                  num_attention_heads=16, num_key_value_heads=2, rope_parameters=_QWEN25_ROPE),
        vision=dict(_QWEN25_VISION, out_hidden_size=2048)),
    "Qwen2.5-VL-7B": dict(
        arch="qwen2_5_vl", tie_word_embeddings=False,
        text=dict(vocab_size=152064, hidden_size=3584, intermediate_size=18944, num_hidden_layers=28,
                  num_attention_heads=28, num_key_value_heads=4, rope_parameters=_QWEN25_ROPE),
        vision=dict(_QWEN25_VISION, out_hidden_size=3584)),
    "Qwen3-VL-8B": dict(
        arch="qwen3_vl", tie_word_embeddings=False,
        text=dict(vocab_size=151936, hidden_size=4096, intermediate_size=12288, num_hidden_layers=36,
                  num_attention_heads=32, num_key_value_heads=8, head_dim=128,
                  rope_parameters={"rope_type": "default", "rope_theta": 5_000_000.0, "mrope_section": [24, 20, 20],
                                   "mrope_interleaved": True}),
        vision=dict(depth=27, hidden_size=1152, intermediate_size=4304, num_heads=16, hidden_act="gelu_pytorch_tanh",
                    patch_size=16, spatial_merge_size=2, temporal_patch_size=2, num_position_embeddings=2304,
                    deepstack_visual_indexes=[8, 16, 24], out_hidden_size=4096)),
}


def published_config(name: str, *, text: dict | None = None, vision: dict | None = None,
                     token_ids: dict[str, int] | None = None) -> Qwen2_5_VLConfig | Qwen3VLConfig:
    """The config of checkpoint `name` (a key of PUBLISHED), with `text` / `vision` entries replaced
    (a scaled-down copy for CPU runs) and the special `token_ids` of the tokenizer it will run with
    (default: those of `train_tokenizer()`)."""
    if name not in PUBLISHED:
        raise ConfigError(f"unknown published model {name!r}: choose one of {', '.join(PUBLISHED)}")
    shape = copy.deepcopy(PUBLISHED[name])
    text_config = {**shape["text"], **(text or {})}
    vision_config = {**shape["vision"], **(vision or {})}
    vision_config["out_hidden_size"] = text_config["hidden_size"]
    token_ids = token_ids or special_token_ids(train_tokenizer())
    config_class = Qwen2_5_VLConfig if shape["arch"] == "qwen2_5_vl" else Qwen3VLConfig
    text_config["tie_word_embeddings"] = shape["tie_word_embeddings"]
    return config_class(text_config=text_config, vision_config=vision_config,
                        tie_word_embeddings=shape["tie_word_embeddings"], **token_ids)


def write_config_dir(out_dir: str | Path, name: str, *, text: dict | None = None, vision: dict | None = None) -> Path:
    """Write config, generation config and processor (the local tokenizer) of `published_config(name,
    ...)` to the new folder `out_dir`, without weights: a model of that shape is built from the config
    (random weights) rather than loaded. Returns `out_dir`."""
    out_dir = Path(out_dir)
    if out_dir.exists():
        raise ConfigError(f"{out_dir} exists: give a new folder")
    tokenizer = train_tokenizer()
    config = published_config(name, text=text, vision=vision, token_ids=special_token_ids(tokenizer))
    generation = GenerationConfig(eos_token_id=[tokenizer.convert_tokens_to_ids(EOS_TOKEN),
                                                tokenizer.convert_tokens_to_ids(PAD_TOKEN)],
                                  pad_token_id=tokenizer.convert_tokens_to_ids(PAD_TOKEN))
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        config.save_pretrained(staging)
        generation.save_pretrained(staging)
        build_processor(PUBLISHED[name]["arch"], tokenizer).save_pretrained(staging)
        staging.rename(out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir
