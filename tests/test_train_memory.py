"""The memory-sizing formula: parameter counts exact against real models, the published shapes at their
published sizes, estimates that move the right way, and the README table generated from it."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from videofocus.models import load_model
from videofocus.models.published import published_config
from videofocus.train.config import GRPOConfig
from videofocus.train.memory import GIB, Workload, estimate_memory, parameter_counts, sizing_table, visual_tokens
from videofocus.train.modeling import attach_lora

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.parametrize("fixture", ["tiny_qwen25_vl_path", "tiny_qwen3_vl_path"])
def test_counts_equal_the_built_model_and_peft(fixture, request):
    model, _ = load_model(request.getfixturevalue(fixture), device="cpu")
    counts = parameter_counts(model.config, lora_r=4)
    assert counts.total == sum(p.numel() for p in model.parameters())
    assert counts.vision_tower + counts.projector == sum(p.numel() for p in model.model.visual.parameters())
    lora = attach_lora(model, GRPOConfig(lora_r=4))
    assert counts.lora == sum(p.numel() for p in lora.parameters() if p.requires_grad)


@pytest.mark.parametrize(("name", "billions"), [("Qwen2.5-VL-3B", 3.75), ("Qwen2.5-VL-7B", 8.29),
                                                ("Qwen3-VL-8B", 8.77)])
def test_published_shapes_have_the_published_sizes(name, billions):
    assert parameter_counts(published_config(name)).total / 1e9 == pytest.approx(billions, abs=0.01)


def test_visual_tokens_of_a_clip():
    # 16 frame pairs of 448x252: 16 x 9 tokens a pair after the 2x2 merge (patch 14).
    assert visual_tokens(published_config("Qwen2.5-VL-7B"), 32, 252, 448) == (2304, 4 * 2304)


def test_estimates_grow_with_the_workload_and_shrink_with_lora_and_sharding():
    config = published_config("Qwen2.5-VL-7B")
    counts = parameter_counts(config)

    def peak(workload=Workload(), **kwargs):
        return estimate_memory(config, workload, counts=counts, **kwargs).peak

    full, lora = peak(lora=False), peak(lora=True)
    assert lora < full / 3
    assert peak(Workload(frames=64), lora=True) > lora and peak(Workload(num_generations=16), lora=True) > lora
    assert peak(lora=False, strategy="zero2", gpus=8) < full / 2
    assert estimate_memory(config, Workload(), lora=True, counts=counts).reference == 0
    reference = estimate_memory(config, Workload(), lora=False, counts=counts).reference
    assert reference / GIB == pytest.approx(counts.total * 2 / GIB)
    # Full fine-tuning keeps 12 bytes per language-model parameter (fp32 weight, AdamW's two moments)
    # and adds 8 in the AdamW step (fp32 gradient, foreach temporary).
    full_estimate = estimate_memory(config, Workload(), lora=False, counts=counts)
    assert full_estimate.weights == counts.language_model * 12 + (counts.vision_tower + counts.projector) * 2
    assert full_estimate.optimizer_step == counts.language_model * 8


def test_readme_table_is_the_generated_one():
    assert sizing_table() in README.read_text(encoding="utf-8")
