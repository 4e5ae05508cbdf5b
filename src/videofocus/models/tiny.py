"""Tiny random Qwen2.5-VL / Qwen3-VL models, built offline, for tests, demos and benchmarks.

`build_tiny_model` writes a directory that `load_model` (and `from_pretrained`) reads exactly like
a Hub checkpoint: config, random weights, generation config, and a processor whose tokenizer is a
byte-level BPE trained here on a small corpus of the project's prompt/answer vocabulary. The
tokenizer splits text like the Qwen2 tokenizer does (same normaliser, pre-tokeniser regex and
byte-level decoder), so every digit is a token of its own, and it carries the Qwen special tokens
that the processors and chat templates need.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers
from tokenizers.models import BPE
from tokenizers.trainers import BpeTrainer
from transformers import (
    GenerationConfig,
    Qwen2_5_VLConfig,
    Qwen2_5_VLForConditionalGeneration,
    Qwen2_5_VLProcessor,
    Qwen2VLImageProcessor,
    Qwen2VLVideoProcessor,
    Qwen3VLConfig,
    Qwen3VLForConditionalGeneration,
    Qwen3VLProcessor,
    Qwen3VLVideoProcessor,
)
from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX, Qwen2Tokenizer

from videofocus.errors import ConfigError
from videofocus.storage import with_default_permissions
from videofocus.models.chat_templates import CHAT_TEMPLATES
from videofocus.models.loading import no_progress_bars

Arch = Literal["qwen2_5_vl", "qwen3_vl"]
ARCHS: tuple[str, ...] = ("qwen2_5_vl", "qwen3_vl")

PAD_TOKEN = "<|endoftext|>"
EOS_TOKEN = "<|im_end|>"
# The Qwen special tokens the processors and chat templates use (SPEC, library facts).
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
                  "<|image_pad|>", "<|video_pad|>")

# Words, tags and number shapes the project's prompts and answers are made of. The tokenizer is
# byte-level, so any text encodes; this corpus only decides which merges exist.
TOKENIZER_CORPUS = """\
You are a helpful assistant.
<think>The person picks up the cup, then walks to the door.</think>
<clue>[(12.5, 17.8), (20.0, 24.5)]</clue> <answer>B</answer>
<glue>[(3.2, 9.6)]</glue> <answer>12.54 to 17.83</answer>
<clue>[104, 56, 220, 198]</clue> <answer>[[10, 20, 30, 40], [11, 21, 31, 41]]</answer>
Give the start and end time of the event in seconds. When does the event happen in the video?
Output your thought process within the <think> </think> tags, the relevant time interval within
the <clue> </clue> tags, and the final answer within the <answer> </answer> tags.
Find the box of the object described by the sentence in the image. Track the object in the video.
Answer with the letter of the correct option. Options: A. red B. green C. blue D. yellow E. none
Question: What does the man do after he opens the fridge? Which object moves first? How many
times does the ball bounce? Describe the video in detail. Where is the square at the start?
the a an of in on at to from with and or is are was were it this that which who what when where
how why video image frame frames second seconds time start end before after during while first
last left right top bottom object person man woman people dog cat car ball box cup door table
square circle red green blue moves appears disappears stops enters leaves opens closes holds
0 1 2 3 4 5 6 7 8 9 0.0 0.5 1.25 10.75 100 2.0 3.5 45.6 789 ( ) [ ] , . : ; ? ! " ' - = +
"""


@dataclass(frozen=True)
class TinySize:
    """Dimensions of a tiny model. The defaults are the ~0.2 M-parameter test model of SPEC.

    The text attention head size is `text_hidden // text_heads`; the mRoPE sections split half of it
    into time/height/width in the Qwen proportion 2:3:3.
    """

    text_hidden: int = 64
    text_layers: int = 2
    text_heads: int = 4
    text_kv_heads: int = 2
    text_intermediate: int = 128
    vision_hidden: int = 32
    vision_depth: int = 2
    vision_heads: int = 2
    vision_intermediate: int = 64
    vocab_size: int = 512  # BPE vocabulary incl. the 256 byte symbols and the special tokens

    def __post_init__(self) -> None:
        if self.text_hidden % self.text_heads or (self.text_hidden // self.text_heads) % 8:
            raise ConfigError("TinySize: text_hidden / text_heads must be a multiple of 8 (mRoPE sections)")
        if self.text_heads % self.text_kv_heads:
            raise ConfigError("TinySize: text_heads must be a multiple of text_kv_heads")
        if self.vision_hidden % self.vision_heads or (self.vision_hidden // self.vision_heads) % 4:
            raise ConfigError("TinySize: vision_hidden / vision_heads must be a multiple of 4 (2-D rotary)")
        if self.vocab_size < 256 + len(SPECIAL_TOKENS):
            raise ConfigError(f"TinySize: vocab_size must be at least {256 + len(SPECIAL_TOKENS)} (bytes + specials)")

    @property
    def mrope_section(self) -> list[int]:
        half = self.text_hidden // self.text_heads // 2
        spatial = 3 * half // 8
        return [half - 2 * spatial, spatial, spatial]


def build_tiny_model(out_dir: str | Path, arch: Arch = "qwen2_5_vl", seed: int = 0,
                     size: TinySize | None = None) -> Path:
    """Write a random tiny `arch` model with its processor to `out_dir` and return the path.

    `out_dir` must be new or empty; the files appear there all at once (written to a sibling
    directory first). The same `seed` and `size` give the same weights and tokenizer.
    `load_model(out_dir)` loads it.
    """
    if arch not in ARCHS:
        raise ConfigError(f"unknown architecture {arch!r}: choose one of {', '.join(ARCHS)}")
    size = size or TinySize()
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise ConfigError(f"{out_dir} exists and is not an empty directory: give a new or empty one")
    tokenizer = train_tokenizer(size.vocab_size)
    processor = build_processor(arch, tokenizer)
    config = _build_config(arch, size, tokenizer)
    model_class = Qwen2_5_VLForConditionalGeneration if arch == "qwen2_5_vl" else Qwen3VLForConditionalGeneration
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = model_class(config)
    model.generation_config = GenerationConfig(
        eos_token_id=[tokenizer.convert_tokens_to_ids(EOS_TOKEN), tokenizer.convert_tokens_to_ids(PAD_TOKEN)],
        pad_token_id=tokenizer.convert_tokens_to_ids(PAD_TOKEN),
    )
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        with no_progress_bars():
            model.save_pretrained(staging)
        processor.save_pretrained(staging)
        with_default_permissions(staging)
        if out_dir.exists():
            out_dir.rmdir()
        staging.rename(out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir


def train_tokenizer(vocab_size: int = 512) -> Qwen2Tokenizer:
    """Train a byte-level BPE on `TOKENIZER_CORPUS` with the Qwen2 pre-tokenisation (one token per
    digit) and wrap it as a `Qwen2Tokenizer` carrying the Qwen special tokens."""
    bpe = Tokenizer(BPE())
    bpe.normalizer = normalizers.NFC()
    # The Qwen2 regex isolates every digit (`\p{N}`), so no merge can join two digits.
    bpe.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    bpe.decoder = decoders.ByteLevel()
    trainer = BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS),
                         initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    bpe.train_from_iterator(TOKENIZER_CORPUS.splitlines(), trainer)
    merges = [tuple(pair) for pair in json.loads(bpe.to_str())["model"]["merges"]]
    return Qwen2Tokenizer(
        vocab=bpe.get_vocab(), merges=merges, eos_token=EOS_TOKEN, pad_token=PAD_TOKEN, unk_token=None,
        extra_special_tokens=[token for token in SPECIAL_TOKENS if token not in (EOS_TOKEN, PAD_TOKEN)],
    )


def special_token_ids(tokenizer: Qwen2Tokenizer) -> dict[str, int]:
    return {name: tokenizer.convert_tokens_to_ids(token) for name, token in (
        ("image_token_id", "<|image_pad|>"), ("video_token_id", "<|video_pad|>"),
        ("vision_start_token_id", "<|vision_start|>"), ("vision_end_token_id", "<|vision_end|>"))}


def _build_config(arch: Arch, size: TinySize, tokenizer: Qwen2Tokenizer) -> Qwen2_5_VLConfig | Qwen3VLConfig:
    text = dict(
        vocab_size=len(tokenizer), hidden_size=size.text_hidden, intermediate_size=size.text_intermediate,
        num_hidden_layers=size.text_layers, num_attention_heads=size.text_heads,
        num_key_value_heads=size.text_kv_heads, max_position_embeddings=4096,
        pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id, bos_token_id=None,
    )
    vision = dict(
        depth=size.vision_depth, hidden_size=size.vision_hidden, num_heads=size.vision_heads,
        intermediate_size=size.vision_intermediate, out_hidden_size=size.text_hidden,
        spatial_merge_size=2, temporal_patch_size=2,
    )
    if arch == "qwen2_5_vl":
        text["rope_parameters"] = {"rope_type": "default", "rope_theta": 1_000_000.0,
                                   "mrope_section": size.mrope_section}
        vision.update(patch_size=14, window_size=112, fullatt_block_indexes=[size.vision_depth - 1],
                      tokens_per_second=2)  # 2 as in the released Qwen2.5-VL checkpoints
        return Qwen2_5_VLConfig(text_config=text, vision_config=vision, **special_token_ids(tokenizer))
    text["head_dim"] = size.text_hidden // size.text_heads
    text["rope_parameters"] = {"rope_type": "default", "rope_theta": 5_000_000.0,
                               "mrope_section": size.mrope_section, "mrope_interleaved": True}
    # Deepstack feeds the first vision blocks (not the last, unless it is the only one) to as many text layers.
    deepstack = list(range(max(size.vision_depth - 1, 1)))[: min(3, size.text_layers)]
    vision.update(patch_size=16, num_position_embeddings=16 * 16, deepstack_visual_indexes=deepstack)
    return Qwen3VLConfig(text_config=text, vision_config=vision, **special_token_ids(tokenizer))


def build_processor(arch: Arch, tokenizer: Qwen2Tokenizer) -> Qwen2_5_VLProcessor | Qwen3VLProcessor:
    # Pixel limits as the released checkpoints; `encode_prompts` resizes with its own limits anyway.
    if arch == "qwen2_5_vl":
        common = dict(patch_size=14, temporal_patch_size=2, merge_size=2)
        return Qwen2_5_VLProcessor(
            image_processor=Qwen2VLImageProcessor(min_pixels=4 * 28 * 28, max_pixels=16384 * 28 * 28, **common),
            video_processor=Qwen2VLVideoProcessor(min_pixels=128 * 28 * 28, max_pixels=768 * 28 * 28, **common),
            tokenizer=tokenizer, chat_template=CHAT_TEMPLATES[arch],
        )
    common = dict(patch_size=16, temporal_patch_size=2, merge_size=2, image_mean=[0.5] * 3, image_std=[0.5] * 3)
    return Qwen3VLProcessor(
        image_processor=Qwen2VLImageProcessor(size={"shortest_edge": 64 * 32 * 32, "longest_edge": 16384 * 32 * 32},
                                              **common),
        video_processor=Qwen3VLVideoProcessor(size={"shortest_edge": 128 * 32 * 32, "longest_edge": 768 * 32 * 32},
                                              **common),
        tokenizer=tokenizer, chat_template=CHAT_TEMPLATES[arch],
    )
