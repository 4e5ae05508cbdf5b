"""GRPO loss math on plain tensors: group-normalised advantages, the k3 KL estimator, the clipped
objective and its three aggregations (SPEC "GRPO"). No model, no distribution: the recipe passes the
per-process totals of the optimisation step so that summing micro-batch losses and averaging over
processes gives the step's objective.

Shapes: B completions, T completion tokens (right-padded); `mask` is 1 on real completion tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

LossType = Literal["grpo", "dapo", "dr_grpo"]
LOSS_TYPES: tuple[str, ...] = ("grpo", "dapo", "dr_grpo")


def group_advantages(rewards: torch.Tensor, group_size: int, *, scale: bool = True,
                     eps: float = 1e-4) -> torch.Tensor:
    """A_i = (r_i − mean(group)) / (std(group) + eps) for consecutive groups of `group_size` rewards.

    `std` is the sample standard deviation (Bessel-corrected, as TRL); `scale=False` leaves out the
    division (Dr. GRPO)."""
    grouped = rewards.view(-1, group_size)
    centred = grouped - grouped.mean(dim=1, keepdim=True)
    if scale:
        centred = centred / (grouped.std(dim=1, keepdim=True) + eps)
    return centred.reshape(-1)


def zero_spread_groups(rewards: torch.Tensor, group_size: int) -> torch.Tensor:
    """Boolean per group: all rewards of the group are equal (the group carries no learning signal)."""
    grouped = rewards.view(-1, group_size)
    return torch.isclose(grouped, grouped[:, :1]).all(dim=1)


def k3_kl(logps: torch.Tensor, ref_logps: torch.Tensor) -> torch.Tensor:
    """Per-token KL(π_θ‖π_ref) estimate k3 = exp(ref − logp) − (ref − logp) − 1 (≥ 0, unbiased).

    The plain k3 term of SPEC, as TRL with `use_bias_correction_kl=False`; TRL 1.16's default (True)
    multiplies it by the importance ratio, which changes the KL gradient whenever beta != 0."""
    delta = ref_logps - logps
    return torch.exp(delta) - delta - 1


@dataclass(frozen=True)
class LossTerms:
    """A micro-batch's loss and the per-token quantities its metrics are made of (all detached but `loss`)."""

    loss: torch.Tensor
    kl: torch.Tensor | None          # (B, T) k3 estimate, None when beta = 0
    clipped: torch.Tensor            # (B, T) bool: the clip bound was active for this token


def clipped_objective(logps: torch.Tensor, old_logps: torch.Tensor, advantages: torch.Tensor,
                      mask: torch.Tensor, *, loss_type: LossType, epsilon_low: float, epsilon_high: float,
                      beta: float = 0.0, ref_logps: torch.Tensor | None = None,
                      num_sequences: float, num_tokens: float, max_completion_length: int) -> LossTerms:
    """The GRPO loss of one micro-batch: −min(ρA, clip(ρ, 1−ε_low, 1+ε_high)A) + β·KL per token, aggregated.
    KL is the plain `k3_kl` (TRL parity holds with its `use_bias_correction_kl=False`).

    `num_sequences` and `num_tokens` are this process's share of the whole optimisation step
    (all gradient-accumulation micro-batches): completions on this process, and the step's completion
    tokens over all processes divided by the number of processes. Aggregation:
    - grpo: mean over sequences of each sequence's token mean;
    - dapo: token mean over the whole step;
    - dr_grpo: token sum divided by (sequences × max_completion_length), a constant normaliser."""
    if beta != 0.0 and ref_logps is None:
        raise ValueError("beta != 0 needs ref_logps")
    advantages = advantages.unsqueeze(1) if advantages.dim() == 1 else advantages
    mask = mask.to(logps.dtype)
    ratio = torch.exp(logps - old_logps)
    clipped_ratio = torch.clamp(ratio, 1 - epsilon_low, 1 + epsilon_high)
    per_token = -torch.min(ratio * advantages, clipped_ratio * advantages)
    kl = None
    if beta != 0.0:
        kl = k3_kl(logps, ref_logps)
        per_token = per_token + beta * kl
    masked = per_token * mask
    if loss_type == "grpo":
        loss = (masked.sum(-1) / mask.sum(-1).clamp(min=1.0)).sum() / num_sequences
    elif loss_type == "dapo":
        loss = masked.sum() / max(num_tokens, 1.0)
    elif loss_type == "dr_grpo":
        loss = masked.sum() / (num_sequences * max_completion_length)
    else:
        raise ValueError(f"unknown loss_type {loss_type!r}; expected one of {', '.join(LOSS_TYPES)}")
    clipped = ((ratio < 1 - epsilon_low) & (advantages < 0)) | ((ratio > 1 + epsilon_high) & (advantages > 0))
    return LossTerms(loss=loss, kl=None if kl is None else kl.detach(), clipped=clipped.detach() & mask.bool())
