"""GRPO loss math: advantages, the k3 KL estimator, clipping and the three aggregations."""

from __future__ import annotations

import pytest
import torch

from videofocus.train.loss import clipped_objective, group_advantages, k3_kl, zero_spread_groups


def test_group_advantages_normalise_within_each_group():
    rewards = torch.tensor([1.0, 0.0, 0.5, 0.5, 2.0, 2.0, 2.0, 2.0])
    advantages = group_advantages(rewards, 4)
    first = torch.tensor([1.0, 0.0, 0.5, 0.5])
    expected = (first - first.mean()) / (first.std() + 1e-4)   # sample std, as TRL
    torch.testing.assert_close(advantages[:4], expected)
    assert torch.equal(advantages[4:], torch.zeros(4))          # no spread: no signal, no NaN
    unscaled = group_advantages(rewards, 4, scale=False)
    torch.testing.assert_close(unscaled[:4], first - first.mean())


def test_zero_spread_groups():
    rewards = torch.tensor([1.0, 1.0, 0.0, 1.0, 0.3, 0.3])
    assert zero_spread_groups(rewards, 2).tolist() == [True, False, True]


def test_k3_is_an_unbiased_nonnegative_kl_estimate():
    logits, ref_logits = torch.randn(50, generator=torch.Generator().manual_seed(0)), torch.zeros(50)
    logp, ref = torch.log_softmax(logits, 0), torch.log_softmax(ref_logits, 0)
    exact = (logp.exp() * (logp - ref)).sum()
    estimate = (logp.exp() * k3_kl(logp, ref)).sum()            # expectation over samples from π_θ
    torch.testing.assert_close(estimate, exact)
    assert (k3_kl(logp, ref) >= 0).all()
    assert k3_kl(logp, logp).abs().max() == 0


def _objective(logps, old, advantages, mask, loss_type, **kwargs):
    settings = dict(loss_type=loss_type, epsilon_low=0.2, epsilon_high=0.28, num_sequences=len(logps),
                    num_tokens=float(mask.sum()), max_completion_length=8)
    settings.update(kwargs)
    return clipped_objective(logps, old, advantages, mask, **settings)


def test_clipped_tokens_get_no_gradient_and_others_do():
    old = torch.zeros(4, 1)
    # ratios 1.5 (A>0: clipped above), 0.5 (A<0: clipped below), 1.5 with A<0 and 0.5 with A>0 (not clipped)
    logps = torch.log(torch.tensor([[1.5], [0.5], [1.5], [0.5]])).requires_grad_()
    advantages = torch.tensor([1.0, -1.0, -1.0, 1.0])
    terms = _objective(logps, old, advantages, torch.ones(4, 1), "dapo")
    terms.loss.backward()
    assert terms.clipped[:, 0].tolist() == [True, True, False, False]
    assert logps.grad[:2].abs().max() == 0
    assert (logps.grad[2:].abs() > 0).all()


def test_aggregations_differ_as_documented():
    logps = torch.zeros(2, 4)
    mask = torch.tensor([[1.0, 1.0, 1.0, 1.0], [1.0, 0.0, 0.0, 0.0]])
    advantages = torch.tensor([1.0, -2.0])
    # ratio 1: per-token loss is −A on real tokens
    assert _objective(logps, logps, advantages, mask, "grpo").loss.item() == pytest.approx((-1 + 2) / 2)
    assert _objective(logps, logps, advantages, mask, "dapo").loss.item() == pytest.approx((-4 + 2) / 5)
    assert _objective(logps, logps, advantages, mask, "dr_grpo").loss.item() == pytest.approx((-4 + 2) / (2 * 8))


@pytest.mark.parametrize("loss_type", ["grpo", "dapo", "dr_grpo"])
def test_micro_batch_losses_add_up_to_the_step_loss(loss_type):
    """What gradient accumulation relies on: with the step's totals, the micro-batch losses sum to the
    loss of the whole batch."""
    generator = torch.Generator().manual_seed(0)
    logps, old, ref = (torch.randn(6, 5, generator=generator) for _ in range(3))
    mask = (torch.rand(6, 5, generator=generator) > 0.3).float()
    mask[:, 0] = 1
    advantages = torch.randn(6, generator=generator)
    common = dict(num_sequences=6, num_tokens=float(mask.sum()), beta=0.1)
    whole = _objective(logps, old, advantages, mask, loss_type, ref_logps=ref, **common).loss
    parts = sum(_objective(logps[i:i + 2], old[i:i + 2], advantages[i:i + 2], mask[i:i + 2], loss_type,
                           ref_logps=ref[i:i + 2], **common).loss for i in range(0, 6, 2))
    torch.testing.assert_close(parts, whole)


def test_kl_term_is_beta_times_k3_and_needs_a_reference():
    logps, ref = torch.zeros(1, 2), torch.tensor([[0.5, -0.5]])
    mask = torch.ones(1, 2)
    terms = _objective(logps, logps, torch.zeros(1), mask, "dapo", beta=0.5, ref_logps=ref)
    assert terms.loss.item() == pytest.approx(0.5 * k3_kl(logps, ref).mean().item())
    with pytest.raises(ValueError, match="ref_logps"):
        _objective(logps, logps, torch.zeros(1), mask, "dapo", beta=0.5)
