"""Our per-token log-probs and GRPO loss equal TRL 1.16's GRPOTrainer on inputs where TRL is correct
(images and text only), for every loss type both implement, with clipping, KL and padding active."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from train_helpers import one_torch_thread  # noqa: F401
from videofocus.models import load_model
from videofocus.models.inputs import Prompt, encode_prompts
from videofocus.train.batch import PromptInputs, collate
from videofocus.train.loss import clipped_objective
from videofocus.train.policy import completion_logprobs

TEMPERATURE = 0.7


@pytest.fixture(scope="module")
def trl_trainer(tiny_qwen25_vl_path, tmp_path_factory):
    datasets = pytest.importorskip("datasets")
    trl = pytest.importorskip("trl")
    model, processor = load_model(tiny_qwen25_vl_path, device="cpu")
    args = trl.GRPOConfig(output_dir=str(tmp_path_factory.mktemp("trl")), per_device_train_batch_size=4,
                          num_generations=2, beta=0.04, epsilon=0.2, epsilon_high=0.28, temperature=TEMPERATURE,
                          max_completion_length=8, report_to="none", bf16=False,
                          # TRL 1.16 multiplies the KL term by the importance ratio by default; the objective
                          # both implement (SPEC) has the plain k3 term.
                          use_bias_correction_kl=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer = trl.GRPOTrainer(model=model, reward_funcs=lambda completions, **_: [0.0] * len(completions),
                                  args=args, train_dataset=datasets.Dataset.from_dict({"prompt": ["hi"] * 4}),
                                  processing_class=processor)
    return trainer


@pytest.fixture(scope="module")
def policy(tiny_qwen25_vl_path):
    return load_model(tiny_qwen25_vl_path, device="cpu")


def _batch(processor, with_images: bool):
    """Two prompts of different lengths, each with two completions of different lengths (padding on
    both sides)."""
    rng = np.random.default_rng(0)
    texts = ["find it", "where is the red square in this picture now"]
    prompts = []
    for text in texts:
        images = [Image.fromarray(rng.integers(0, 255, (56, 56, 3), dtype=np.uint8))] if with_images else []
        encoded = encode_prompts(processor, [Prompt(text=text, images=images)], image_min_pixels=56 * 56,
                                 image_max_pixels=56 * 56)
        prompts.append(PromptInputs.from_encoded(encoded))
    completions = [torch.tensor(rng.integers(10, 300, length)) for length in (5, 8, 3, 7)]
    return collate([prompts[0], prompts[0], prompts[1], prompts[1]], completions,
                   pad_token_id=processor.tokenizer.pad_token_id)


def _trl_logps(trainer, batch, with_images: bool):
    inputs = batch.inputs
    visual = dict(pixel_values=inputs["pixel_values"], image_grid_thw=inputs["image_grid_thw"],
                  num_images=[1] * len(batch)) if with_images else {}
    logps, _, _ = trainer._get_per_token_logps_and_entropies(
        trainer.model, inputs["input_ids"], inputs["attention_mask"], batch.completion_mask.shape[1],
        mm_token_type_ids=inputs["mm_token_type_ids"], **visual)
    return logps


@pytest.mark.parametrize("with_images", [True, False], ids=["image", "text"])
def test_per_token_logprobs_equal_trl(trl_trainer, policy, with_images):
    model, processor = policy
    batch = _batch(processor, with_images)
    ours, _ = completion_logprobs(model, batch, temperature=TEMPERATURE)
    theirs = _trl_logps(trl_trainer, batch, with_images)
    mask = batch.completion_mask.bool()
    assert torch.allclose(ours[mask], theirs[mask], atol=1e-5, rtol=0)
    assert ours[mask].abs().min() > 0  # real log-probs, not zeros compared with zeros


@pytest.mark.parametrize("loss_type", ["grpo", "dapo", "dr_grpo"])
@pytest.mark.parametrize("with_images", [True, False], ids=["image", "text"])
def test_loss_equals_trl(trl_trainer, policy, loss_type, with_images):
    model, processor = policy
    batch = _batch(processor, with_images)
    mask = batch.completion_mask
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        current, _ = completion_logprobs(model, batch, temperature=TEMPERATURE)
    # An older policy and a reference that differ from the current one, enough to clip some tokens.
    old = (current + 0.4 * torch.randn(current.shape, generator=generator)) * mask
    ref = (current + 0.3 * torch.randn(current.shape, generator=generator)) * mask
    advantages = torch.tensor([1.0, -1.0, 0.5, -0.5])

    logps, _ = completion_logprobs(model, batch, temperature=TEMPERATURE)
    ours = clipped_objective(logps, old, advantages, mask, loss_type=loss_type, epsilon_low=0.2, epsilon_high=0.28,
                             beta=0.04, ref_logps=ref, num_sequences=len(batch), num_tokens=float(mask.sum()),
                             max_completion_length=trl_trainer.max_completion_length)

    trl_trainer.loss_type = loss_type
    prompt_length = batch.prompt_length
    inputs = {"prompt_ids": batch.inputs["input_ids"][:, :prompt_length],
              "prompt_mask": batch.inputs["attention_mask"][:, :prompt_length],
              "completion_ids": batch.completion_ids, "completion_mask": mask, "advantages": advantages,
              "old_per_token_logps": old, "ref_per_token_logps": ref, "num_items_in_batch": mask.sum(),
              "mm_token_type_ids": batch.inputs["mm_token_type_ids"]}
    if with_images:
        inputs.update(pixel_values=batch.inputs["pixel_values"], image_grid_thw=batch.inputs["image_grid_thw"],
                      num_images=[1] * len(batch))
    theirs = trl_trainer._compute_loss(trl_trainer.model, inputs)

    assert ours.clipped.any()  # the comparison covers the clipped branch
    assert abs(ours.loss.item() - theirs.item()) < 1e-5
    assert abs(ours.loss.item()) > 1e-4
