"""Supervised fine-tuning on the same data as GRPO (the papers' SFT baseline, and the warm-up of the
demo): the target is the sample's think / clue / answer in its task's output format, the loss the
cross-entropy of the target tokens, averaged over all target tokens of the optimisation step. The
prompt, visual input, padding and log-prob forward are GRPO's own."""

from __future__ import annotations

from pathlib import Path

import torch

from videofocus.backends.base import BoxConvention, box_convention_for
from videofocus.train.batch import collate
from videofocus.train.config import SFTConfig
from videofocus.train.data import Example
from videofocus.train.policy import completion_logprobs
from videofocus.train.run import TrainingRun
from videofocus.train.targets import sft_target
from videofocus.train.token_masks import without_blocks


def train_sft(config: SFTConfig, *, resume: bool = False) -> Path:
    """Run SFT as `config` says (continuing the latest checkpoint with `resume`); returns output_dir,
    where the final model and processor are saved."""
    per_process = config.per_device_batch_size * config.gradient_accumulation_steps
    with TrainingRun.start(config, samples_per_process=per_process, resume=resume,
                           loop_view_frames=config.loop_view_frames) as run:
        for item in run.samples:   # every sample can be written as a target, before the first step
            sft_target(item.sample, protocol=config.protocol)
        convention = box_convention_for(run.unwrapped.config.model_type)
        run.begin(resume=resume)
        while run.step < run.total_steps:
            indices = run.stream.next()
            if indices is None:
                break
            examples = [run.example(i) for i in indices]
            targets = [target_ids(e, run.processor.tokenizer, config.protocol, convention) for e in examples]
            trained = [trained_tokens(e, ids, run.processor.tokenizer) for e, ids in zip(examples, targets)]
            run.end_step(supervised_step(run, examples, targets, trained))
        return run.finish()


def target_ids(example: Example, tokenizer, protocol: str, convention: BoxConvention) -> torch.Tensor:
    """The target's token ids, ending with the end-of-turn token the rollouts stop on."""
    text = sft_target(example.item.sample, protocol=protocol, box_to_model=example.box_to_model(convention))
    ids = tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    return torch.tensor(ids, device=example.inputs.input_ids.device)


def trained_tokens(example: Example, ids: torch.Tensor, tokenizer) -> torch.Tensor | None:
    """Which target tokens a round-1 loop view trains: its clue, not the think and answer, which name
    what its uniform frames may not show (a brief-evidence flash never is) and would teach guessing.
    None (every token) for every other view."""
    view = example.item.view
    if view is None or view.focused:
        return None
    mask = without_blocks(ids, tokenizer, ("think", "answer"))
    return None if mask is None else mask.to(ids.device)


def supervised_step(run: TrainingRun, examples: list[Example], targets: list[torch.Tensor],
                    trained: list[torch.Tensor | None] | None = None) -> dict[str, float]:
    """One optimisation step over micro-batches of `per_device_batch_size` examples; the loss is the mean
    over all trained target tokens of the step, on all processes, or with loss_weighting "sample" the
    mean over its samples of each sample's token mean. `trained[i]`: a 0/1 mask of target i's tokens
    that enter the loss (None: all). Micro-batches are cut from the examples in order of length, so
    short ones are not padded to the longest (the loss is a sum over tokens: the grouping does not
    change it)."""
    accelerator, size = run.accelerator, run.config.per_device_batch_size
    masks = [torch.ones(len(ids), device=ids.device) if mask is None else mask
             for ids, mask in zip(targets, trained or [None] * len(targets))]
    by_length = sorted(range(len(examples)), key=lambda i: len(examples[i].inputs.input_ids) + len(targets[i]))
    examples, targets, masks = ([items[i] for i in by_length] for items in (examples, targets, masks))
    per_sample = run.config.loss_weighting == "sample"
    local_tokens = torch.tensor(float(sum(mask.sum().item() for mask in masks)), device=accelerator.device)
    tokens = accelerator.reduce(local_tokens, reduction="sum").item() / accelerator.num_processes
    # Each process holds the same number of samples; DDP averages the processes' gradients.
    denominator = len(examples) if per_sample else tokens
    pad = run.processor.tokenizer.pad_token_id
    loss_sum, grad_norm = torch.zeros((), device=accelerator.device), None
    for start in range(0, len(examples), size):
        batch = collate([e.inputs for e in examples[start:start + size]], targets[start:start + size],
                        pad_token_id=pad, trained_tokens=masks[start:start + size])
        mask = batch.completion_mask
        with accelerator.accumulate(run.model):
            logps, _ = completion_logprobs(run.model, batch)
            token_losses = -logps * mask
            if per_sample:
                token_losses = token_losses / mask.sum(dim=1, keepdim=True).clamp(min=1.0)
            loss = token_losses.sum() / denominator
            norm = run.backward(loss)
            grad_norm = grad_norm if norm is None else norm
        loss_sum += loss.detach()
    return {"loss": (accelerator.reduce(loss_sum, reduction="sum") / accelerator.num_processes).item(),
            "target_length": tokens / len(examples), "grad_norm": grad_norm}
