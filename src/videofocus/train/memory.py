"""How much GPU memory a GRPO run needs per device: model × full fine-tuning or LoRA × frames × G.

    python -m videofocus.train.memory          # the README's sizing table

The estimate is the peak of what PyTorch allocates (`torch.cuda.max_memory_allocated`); the CUDA
context and the allocator's slack come on top (1-3 GiB). It adds up, in bytes:

- weights: what stays resident between steps. Full fine-tuning loads bf16 and keeps the trained
  parameters (the language model; the recipes freeze the vision tower and projector) in float32
  (`GRPOConfig.dtype`) with their AdamW state: 4 + 8 bytes each; frozen parameters 2 bytes.
  DeepSpeed keeps bf16 weights and its own float32 master copy. LoRA: every base weight in bf16, the
  adapters as trained parameters.
- reference: a second bf16 copy of the model for the KL term (beta > 0, full fine-tuning only:
  with LoRA the reference is the base model with the adapters off).
- the largest of three transients: the rollout (KV cache of G sequences, one layer's prefill, the
  vision tower over the clip's patches, once per prompt when features are shared, else G times, and
  the bf16 copies autocast caches of float32 trained weights); the policy forward-backward of one
  micro-batch (the float32 gradients; with gradient checkpointing each layer's input kept and one
  layer recomputed with its gradients; the completion logits in bf16, their float32 log-softmax rows
  and gradients); and the AdamW step (the gradients plus the full-size temporary of torch's foreach
  implementation).

Sharding over N GPUs divides what the strategy shards: ZeRO-2 the optimizer state, master weights and
gradients; FSDP the policy's weights, gradients and optimizer state (not the reference, which stays
whole). benchmarks/gpu_check.py compares the estimate with the measured peak of each case it runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch

from videofocus.media.image import smart_resize
from videofocus.train.modeling import PROJECTOR_MARK, is_vision_parameter

GIB = 2 ** 30
BF16, FP32 = 2, 4
LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
PROMPT_TEXT_TOKENS = 160          # chat template, task instructions and question
QWEN3_TIMESTAMP_TOKENS = 6        # Qwen3-VL writes "<t seconds>" before each frame pair
DEEPSPEED_BUCKETS = 2 * 5 * 10 ** 8 * BF16   # ZeRO-2's default reduce + all-gather buckets (5e8 elements each)

Strategy = Literal["single", "fsdp", "zero2"]


@dataclass(frozen=True)
class ParameterCounts:
    vision_tower: int
    projector: int
    language_model: int           # embeddings and LM head included (counted once when tied)
    lora: int                     # adapter parameters at the given rank on LORA_TARGETS

    @property
    def total(self) -> int:
        return self.vision_tower + self.projector + self.language_model


@dataclass(frozen=True)
class Workload:
    """What one optimisation step processes on one device: one prompt's G completions per rollout
    (generation_batch_size 1, as the recipes) and `micro_batch` completions per forward-backward
    (None: G)."""

    frames: int = 32
    frame_height: int = 252
    frame_width: int = 448
    num_generations: int = 8
    completion_length: int = 256
    micro_batch: int | None = None
    gradient_checkpointing: bool = True
    reference: bool = True        # beta > 0
    share_visual_features: bool = True
    lora_r: int = 16


@dataclass(frozen=True)
class MemoryEstimate:
    weights: int                  # resident policy weights and optimizer state
    reference: int
    rollout: int                  # transient of one rollout
    training: int                 # transient of one micro-batch's forward-backward
    optimizer_step: int           # transient of the AdamW step

    @property
    def peak(self) -> int:
        return self.weights + self.reference + max(self.rollout, self.training, self.optimizer_step)

    def as_gib(self) -> dict[str, float]:
        return {name: round(getattr(self, name) / GIB, 2)
                for name in ("weights", "reference", "rollout", "training", "optimizer_step", "peak")}


def parameter_counts(config, *, lora_r: int = 16) -> ParameterCounts:
    """Parameters of a model built from `config` (on the meta device: no memory, exact counts)."""
    from transformers import AutoModelForImageTextToText

    with torch.device("meta"):
        model = AutoModelForImageTextToText.from_config(config)
    tower = projector = text = 0
    for name, parameter in model.named_parameters():
        if not is_vision_parameter(name.removeprefix("model.")):
            text += parameter.numel()
        elif PROJECTOR_MARK in name:
            projector += parameter.numel()
        else:
            tower += parameter.numel()
    lora = sum(lora_r * (module.in_features + module.out_features) for name, module in model.named_modules()
               if isinstance(module, torch.nn.Linear) and "language_model" in name
               and name.rsplit(".", 1)[-1] in LORA_TARGETS)
    return ParameterCounts(vision_tower=tower, projector=projector, language_model=text, lora=lora)


def visual_tokens(config, frames: int, height: int, width: int) -> tuple[int, int]:
    """(tokens the language model sees, patches the vision tower sees) for `frames` frames resized to
    about `height` x `width` (the trainer's video_min_pixels = video_max_pixels = height x width)."""
    vision = config.vision_config
    factor = vision.patch_size * vision.spatial_merge_size
    resized_h, resized_w = smart_resize(height, width, factor, min_pixels=height * width, max_pixels=height * width)
    pairs = math.ceil(frames / vision.temporal_patch_size)
    tokens = pairs * (resized_h // factor) * (resized_w // factor)
    return tokens, tokens * vision.spatial_merge_size ** 2


def estimate_memory(config, workload: Workload, *, lora: bool, strategy: Strategy = "single", gpus: int = 1,
                    counts: ParameterCounts | None = None) -> MemoryEstimate:
    """Peak GPU memory per device of GRPO on a model of `config` (see the module docstring)."""
    counts = counts or parameter_counts(config, lora_r=workload.lora_r)
    text, vision = config.text_config, config.vision_config
    frozen = counts.vision_tower + counts.projector
    trained = counts.lora if lora else counts.language_model
    shards = gpus if strategy != "single" else 1
    if lora or strategy == "single":
        weights = counts.total * BF16 if lora else frozen * BF16 + trained * FP32
        weights += trained * 2 * FP32                     # AdamW's two moments
        gradients = trained * FP32
    elif strategy == "zero2":   # bf16 weights; float32 master, AdamW and gradient partitions
        weights = counts.total * BF16 + trained * 3 * FP32 // shards
        gradients = trained * FP32 // shards + DEEPSPEED_BUCKETS
    else:                       # FSDP: everything of the policy sharded
        weights = (frozen * BF16 + trained * 3 * FP32) // shards
        gradients = trained * FP32 // shards
    autocast_copies = 0 if lora or strategy != "single" else trained * BF16
    optimizer_step = 2 * gradients                        # the gradients + foreach AdamW's temporary
    reference = counts.total * BF16 if workload.reference and not lora else 0

    tokens, patches = visual_tokens(config, workload.frames, workload.frame_height, workload.frame_width)
    pairs = math.ceil(workload.frames / vision.temporal_patch_size)
    prompt = PROMPT_TEXT_TOKENS + tokens + (pairs * QWEN3_TIMESTAMP_TOKENS if config.model_type == "qwen3_vl" else 0)
    length = prompt + workload.completion_length
    hidden, layers = text.hidden_size, text.num_hidden_layers
    head_dim = getattr(text, "head_dim", None) or hidden // text.num_attention_heads
    query, key_value = text.num_attention_heads * head_dim, text.num_key_value_heads * head_dim
    layer_width = 3 * query + 2 * key_value + 2 * hidden + 5 * text.intermediate_size   # one layer's activations / token

    group = workload.num_generations
    kv_cache = group * length * layers * 2 * key_value * BF16
    prefill = group * prompt * layer_width * BF16
    encodings = 1 if workload.share_visual_features else group
    tower = encodings * patches * (4 * vision.hidden_size + 3 * vision.intermediate_size) * BF16
    rollout = kv_cache + prefill + tower + group * text.vocab_size * FP32 + autocast_copies

    batch = workload.micro_batch or group
    residual = BF16 if lora else FP32
    if workload.gradient_checkpointing:
        layer_memory = layers * batch * length * hidden * residual + 2 * batch * length * layer_width * BF16
    else:
        layer_memory = layers * batch * length * (layer_width * BF16 + hidden * residual)
    logits = batch * workload.completion_length * text.vocab_size * (BF16 + FP32 + FP32 + BF16)
    features = prompt * hidden * BF16 * (1 + len(getattr(vision, "deepstack_visual_indexes", None) or []))
    training = gradients + layer_memory + logits + features
    return MemoryEstimate(weights=int(weights), reference=int(reference), rollout=int(rollout),
                          training=int(training), optimizer_step=int(optimizer_step))


TABLE_FRAMES = (16, 32, 64)
TABLE_GROUPS = (4, 8)


def sizing_table() -> str:
    """The README's table: estimated peak GiB on one GPU for each published model, full fine-tuning
    and LoRA, frames x G; last column 8 GPUs under DeepSpeed ZeRO-2 (32 frames, G = 8)."""
    from videofocus.models.published import PUBLISHED, published_config

    columns = [(frames, group) for frames in TABLE_FRAMES for group in TABLE_GROUPS]
    header = ("| model | training | " + " | ".join(f"{f} frames, G={g}" for f, g in columns)
              + " | 8 GPUs ZeRO-2, 32 frames, G=8 |")
    lines = [header, "| --- | --- |" + " --- |" * (len(columns) + 1)]
    for name in PUBLISHED:
        config = published_config(name)
        counts = parameter_counts(config)
        for lora in (False, True):
            cells = [estimate_memory(config, Workload(frames=f, num_generations=g), lora=lora, counts=counts).peak
                     for f, g in columns]
            cells.append(estimate_memory(config, Workload(), lora=lora, strategy="zero2", gpus=8, counts=counts).peak)
            label = "LoRA r=16" if lora else "full (bf16 + fp32 master)"
            lines.append(f"| {name} | {label} | " + " | ".join(f"{cell / GIB:.0f}" for cell in cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(sizing_table())
